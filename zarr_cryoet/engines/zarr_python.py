"""zarr-python with its default codec pipeline, with its fused pipeline (zarr >= 3.3), or with the zarrs (Rust)
codec pipeline."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from zarr_cryoet.store import compat, stores

from .base import Engine, distribution_version, io_concurrency, thread_budget


class ZarrPython(Engine):
    """zarr-python as installed (2.18 or 3.x), default codec pipeline: the suite's reference reader."""

    name = "zarr-python"
    distribution = module = "zarr"
    LIBRARY_DEFAULTS = {"async.concurrency": 10, "threading.max_workers": "None (Python's default: cores + 4)"}

    def unavailable(self, zarr_format=None, remote=False):
        reason = super().unavailable(zarr_format, remote)
        if reason is None and zarr_format is not None and zarr_format not in compat.supported_formats():
            return f"zarr {compat.ZARR_VERSION} cannot read or write zarr format {zarr_format}; it needs zarr >= 3"
        return reason

    def config(self) -> dict:
        return {"async.concurrency": io_concurrency(), "threading.max_workers": thread_budget()}

    def settings(self) -> dict:
        if compat.ZARR_MAJOR < 3:
            return {"concurrency": "none (zarr 2 reads and decodes one chunk after another)"}
        return self.config()

    def session(self):
        if compat.ZARR_MAJOR < 3:
            return contextlib.nullcontext()
        import zarr

        return zarr.config.set(self.config())

    def open(self, location):
        return compat.open_array(location)

    def write(self, path, volume, layout) -> Path:
        return stores.write_store(path, volume, layout)


#: zarr >= 3.3's opt-in pipeline: codecs run synchronously in bulk, sharded reads coalesce their byte ranges
FUSED_PIPELINE = "zarr.core.codec_pipeline.FusedCodecPipeline"


def has_fused_pipeline() -> bool:
    """Whether this zarr ships ``FusedCodecPipeline`` (zarr >= 3.3)."""
    if compat.ZARR_MAJOR < 3:
        return False
    from zarr.core import codec_pipeline

    return hasattr(codec_pipeline, "FusedCodecPipeline")


def opened_with(location, pipeline: str):
    """The array at ``location``, after checking that zarr chose ``pipeline`` (a class name) for it: a pipeline
    setting zarr did not apply would time one engine under another's name."""
    array = compat.open_array(location)
    chosen = type(array._async_array.codec_pipeline).__name__
    if chosen != pipeline:
        raise RuntimeError(f"zarr opened {location} with {chosen}, not {pipeline}; open it inside engine.session()")
    return array


class _PipelineEngine(ZarrPython):
    """zarr-python 3 with another codec pipeline: its settings are its whole config, applied in a session."""

    def settings(self) -> dict:
        return self.config()

    def session(self):
        import zarr

        return zarr.config.set(self.config())


class ZarrPythonFused(_PipelineEngine):
    """zarr-python >= 3.3 with its opt-in ``FusedCodecPipeline``: one setting a user can turn on.

    Its thread pool (``codec_pipeline.max_workers``) gets the same compute budget as the other engines.
    """

    name = "zarr-python-fused"
    LIBRARY_DEFAULTS = {"codec_pipeline.path": "BatchedCodecPipeline (the fused one is opt-in)",
                        "codec_pipeline.max_workers": "None (Python's default: cores + 4)", "async.concurrency": 10}

    def unavailable(self, zarr_format=None, remote=False):
        reason = super().unavailable(zarr_format, remote)
        if reason is None and not has_fused_pipeline():
            return f"zarr {compat.ZARR_VERSION} has no FusedCodecPipeline; it needs zarr >= 3.3"
        return reason

    def config(self) -> dict:
        return {**super().config(), "codec_pipeline.path": FUSED_PIPELINE,
                "codec_pipeline.max_workers": thread_budget()}

    def open(self, location):
        return opened_with(location, "FusedCodecPipeline")


class _WholeAxes:
    """An array whose integer indices are read as one-voxel slices.

    The zarrs pipeline (0.2.3) refuses selections that drop an axis
    (``UnsupportedVIndexingError``) and, unless strict, silently hands them to zarr-python's
    pipeline; reading ``[z:z+1]`` and dropping the axis in numpy (a view) keeps the read in Rust.
    """

    def __init__(self, array):
        self.array = array
        self.shape = array.shape

    def __getitem__(self, selection):
        if not isinstance(selection, tuple):
            selection = (selection,)
        if not any(isinstance(s, (int, np.integer)) for s in selection):
            return self.array[selection]
        sliced = tuple(slice(int(s), int(s) + 1) if isinstance(s, (int, np.integer)) else s for s in selection)
        dropped = tuple(0 if isinstance(s, (int, np.integer)) else slice(None) for s in selection)
        return self.array[sliced][dropped]


class Zarrs(_PipelineEngine):
    """zarr-python 3 with ``zarrs.ZarrsCodecPipeline``: chunks are read, decoded and written in Rust."""

    name = "zarrs"
    distribution = module = "zarrs"
    LIBRARY_DEFAULTS = {"threading.max_workers": "None (all cores)", "codec_pipeline.chunk_concurrent_minimum": 4,
                        "codec_pipeline.chunk_concurrent_maximum": "None (the thread count)",
                        "codec_pipeline.strict": False}

    def unavailable(self, zarr_format=None, remote=False):
        reason = super().unavailable(zarr_format, remote)
        if reason is None and compat.ZARR_MAJOR < 3:
            return f"zarrs {self.version()} needs zarr >= 3.1, not {compat.ZARR_VERSION}"
        if reason is None and remote:
            # zarrs 0.2.3 holds the GIL while it waits for fsspec's event loop, which needs the GIL:
            # a read over HTTP never returns (seen on zarr 3.1.6 and 3.4.2; docs/engines.md)
            return f"zarrs {self.version()} deadlocks reading an fsspec HTTP store (it holds the GIL)"
        return reason

    def config(self) -> dict:
        threads = thread_budget()
        return {"codec_pipeline.path": "zarrs.ZarrsCodecPipeline",
                # never fall back to zarr-python's pipeline: that would time zarr-python under zarrs' name
                "codec_pipeline.strict": True,
                "threading.max_workers": threads, "codec_pipeline.chunk_concurrent_maximum": threads,
                "async.concurrency": io_concurrency()}

    def open(self, location):
        return _WholeAxes(opened_with(location, "ZarrsCodecPipeline"))

    def version(self) -> str:
        return distribution_version("zarrs") or "not installed"

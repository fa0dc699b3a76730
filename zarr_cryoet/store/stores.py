"""Write a tomogram to a local Zarr store, and measure the store from its files.

:func:`write_store` gives the same work on zarr 2.18 and zarr 3.x: the behaviours
whose defaults differ between versions are pinned (``write_empty_chunks=True``,
``fill_value=0.0``, C order, ``.`` as the format-2 dimension separator), so a
benchmark that compares zarr versions compares the libraries, not their
defaults. :func:`inspect_store` reports sizes and counts measured from the
files on disk, never from zarr's own bookkeeping.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zarr_cryoet.store import compat
from zarr_cryoet.store.codecs import get_codec
from zarr_cryoet.util.errors import (FormatUnavailableError, InvalidChunksError, InvalidVolumeError, ShardingNeedsFormat3Error,
                                StoreExistsError)

ZARR_FORMATS = (2, 3)
WRITE_EMPTY_CHUNKS = True
FILL_VALUE = 0.0
_METADATA_FILES = frozenset({".zarray", ".zattrs", ".zgroup", ".zmetadata", "zarr.json"})


@dataclass(frozen=True)
class Layout:
    """How a volume is stored: codec name, chunk shape, zarr format and (format 3 only) shard shape.

    With ``shards``, ``chunks`` is the inner chunk shape: each file holds one
    shard of ``shards`` voxels, made of independently compressed inner chunks
    that a reader can fetch one by one (zarr's sharding codec).
    """

    codec: str
    chunks: tuple[int, int, int]
    #: 2, or 3; left out, a sharded layout is format 3 and another format 2 (:func:`implied_format`)
    zarr_format: int | None = None
    shards: tuple[int, int, int] | None = None

    def __post_init__(self):
        get_codec(self.codec)
        object.__setattr__(self, "chunks", parse_chunks(self.chunks))
        if self.zarr_format is None:
            object.__setattr__(self, "zarr_format", 3 if self.shards is not None else 2)
        if self.zarr_format not in ZARR_FORMATS:
            raise ValueError(f"unknown zarr format {self.zarr_format!r}; use 2 or 3")
        if self.shards is not None:
            object.__setattr__(self, "shards", parse_chunks(self.shards))
            if self.zarr_format != 3:
                raise ShardingNeedsFormat3Error(f"sharding ({format_chunks(self.shards)} shards) needs zarr format 3, "
                                         f"not {self.zarr_format}; use zarr_format=3 or no shards")
            if any(s % c for s, c in zip(self.shards, self.chunks)):
                raise InvalidChunksError(
                    f"shard shape {self.shards} is not a multiple of the chunk shape {self.chunks}; "
                    "choose shards made of whole chunks, e.g. 128x128x128 shards of 32x32x32 chunks")

    @property
    def slug(self) -> str:
        """A file-name-safe identifier, e.g. ``blosc-zstd_64x64x64_v2`` or ``none_32x32x32_s128x128x128_v3``."""
        shards = f"_s{format_chunks(self.shards)}" if self.shards else ""
        return f"{self.codec}_{format_chunks(self.chunks)}{shards}_v{self.zarr_format}"

    @property
    def spec(self) -> str:
        """The chunking as written in benchmark parameters: ``64x64x64`` or ``32x32x32/128x128x128`` (chunks/shards)."""
        return format_chunks(self.chunks) + (f"/{format_chunks(self.shards)}" if self.shards else "")

    @property
    def label(self) -> str:
        """The layout as tables, figures and answers name it: ``16³ v2``, ``32³ in 128³ v3``."""
        return layout_label(self.spec, self.zarr_format)

    @classmethod
    def from_spec(cls, codec: str, chunking, zarr_format: int | None = None) -> "Layout":
        """A layout from a benchmark parameter: ``"64x64x64"`` or ``"32x32x32/128x128x128"`` (chunks/shards); the
        format, left out, is the one the chunking implies."""
        inner, shards = parse_chunking(chunking)
        return cls(codec, inner, zarr_format, shards)


def implied_format(spec) -> int:
    """The zarr format a chunking parameter implies: 3 for a sharded one (``"32x32x32/128x128x128"``; sharding
    needs format 3), else 2 (the suite's unsharded layouts without their own format parameter)."""
    return 3 if "/" in str(spec) else 2


def chunk_label(spec) -> str:
    """``"16x16x16"`` → ``"16³"``, ``"16x128x128"`` → ``"16×128×128"``; sharded, ``"32x32x32/128x128x128"`` →
    ``"32³ in 128³"``."""
    if "/" in str(spec):
        inner, _, shards = str(spec).partition("/")
        return f"{chunk_label(inner)} in {chunk_label(shards)}"
    parts = str(spec).split("x")
    return f"{parts[0]}³" if len(parts) == 3 and len(set(parts)) == 1 else "×".join(parts)


def layout_label(spec, zarr_format=None, sep: str = " ") -> str:
    """A chunking parameter and its format as every table and answer names the layout: ``16³ v2``, ``32³ in 128³
    v3`` (the format, left out, is :func:`implied_format`'s; ``sep="\\n"`` for a figure's two-line tick)."""
    return f"{chunk_label(spec)}{sep}v{implied_format(spec) if zarr_format is None else zarr_format}"


def parse_chunking(spec) -> tuple[tuple[int, int, int], tuple[int, int, int] | None]:
    """``"64x64x64"`` -> (chunks, None); ``"32x32x32/128x128x128"`` -> (inner chunks, shards)."""
    if isinstance(spec, str) and "/" in spec:
        inner, _, shards = spec.partition("/")
        return parse_chunks(inner), parse_chunks(shards)
    return parse_chunks(spec), None


@dataclass(frozen=True)
class StoreStats:
    """What a store costs on disk, measured from its files."""

    stored_bytes: int
    file_count: int
    chunk_file_count: int

    def compression_ratio(self, uncompressed_bytes: int) -> float:
        """Uncompressed bytes divided by every byte on disk (metadata included)."""
        return uncompressed_bytes / self.stored_bytes


def format_chunks(chunks) -> str:
    """``(16, 128, 128)`` -> ``"16x128x128"``."""
    return "x".join(str(c) for c in chunks)


def parse_chunks(chunks) -> tuple[int, int, int]:
    """Accept ``"16x128x128"``, ``"64"`` (cubic), an int, or a sequence of three ints."""
    original = chunks
    if isinstance(chunks, str):
        parts = chunks.lower().replace("³", "").split("x")
        try:
            chunks = tuple(int(p) for p in parts)
        except ValueError:
            raise InvalidChunksError(
                f"cannot read chunk shape {original!r}; write it as Z x Y x X, e.g. '16x128x128' or '64'"
            ) from None
    elif isinstance(chunks, (int, np.integer)):
        chunks = (int(chunks),)
    else:
        try:
            chunks = tuple(int(c) for c in chunks)
        except (TypeError, ValueError):
            raise InvalidChunksError(
                f"cannot read chunk shape {original!r}; give three positive integers, e.g. (64, 64, 64)"
            ) from None
    if len(chunks) == 1:
        chunks = chunks * 3
    if len(chunks) != 3 or any(c <= 0 for c in chunks):
        raise InvalidChunksError(
            f"chunk shape {original!r} is not three positive integers; use e.g. (64, 64, 64) or '16x128x128'"
        )
    return chunks


def check_format(zarr_format) -> int:
    """Reject unknown formats, and format 3 where the installed zarr cannot write it."""
    if zarr_format not in ZARR_FORMATS:
        raise ValueError(f"unknown zarr format {zarr_format!r}; use 2 or 3")
    if zarr_format not in compat.supported_formats():
        raise FormatUnavailableError(
            f"zarr {compat.ZARR_VERSION} cannot write zarr format {zarr_format}; install zarr>=3 for format 3"
        )
    return zarr_format


def check_volume(volume) -> np.ndarray:
    """Return ``volume`` if it is a 3-D real-valued numpy array, else raise a one-line error."""
    if not isinstance(volume, np.ndarray):
        raise InvalidVolumeError(
            f"expected a numpy array, got {type(volume).__name__}; load the data with numpy first"
        )
    if volume.dtype == bool or not (np.issubdtype(volume.dtype, np.integer)
                                    or np.issubdtype(volume.dtype, np.floating)):
        raise InvalidVolumeError(
            f"volume has non-numeric dtype {volume.dtype}; convert it to a real type such as float32"
        )
    if volume.ndim != 3:
        raise InvalidVolumeError(
            f"volume must be 3-D (z, y, x) but has shape {volume.shape}; pass a single tomogram"
        )
    if 0 in volume.shape:
        raise InvalidVolumeError(f"volume shape {volume.shape} is empty; pass a non-empty tomogram")
    return volume


def check_chunks_fit(chunks, shape, what: str = "chunk") -> tuple[int, int, int]:
    """Parse ``chunks`` and make sure no chunk (or shard) edge is longer than the volume's."""
    chunks = parse_chunks(chunks)
    for axis, (c, n) in enumerate(zip(chunks, shape)):
        if c > n:
            raise InvalidChunksError(
                f"{what} shape {chunks} exceeds volume shape {tuple(shape)} on axis {'zyx'[axis]}; "
                f"choose {what}s no larger than the volume"
            )
    return chunks


def write_store(path, volume: np.ndarray, layout: Layout, *, overwrite: bool = False) -> Path:
    """Write ``volume`` to a new directory store at ``path`` with ``layout``.

    Bad input is rejected before anything touches the disk. If writing fails
    part-way, the partial store is removed, so nothing half-written is left.
    """
    path = Path(path)
    settings = prepare_write(path, volume, layout, overwrite=overwrite)
    with removed_on_failure(path):
        array = compat.create_array(path, **settings)
        array[...] = volume
    return path


def prepare_write(path, volume: np.ndarray, layout: Layout, *, overwrite: bool = False) -> dict:
    """Check a write of ``volume`` with ``layout`` to ``path`` before anything touches the disk; make room
    for it (``overwrite``); return the array settings, with every version-dependent behaviour pinned.

    Every engine's write starts here, so all of them write the same array.
    """
    volume = check_volume(volume)
    chunks = check_chunks_fit(layout.chunks, volume.shape)
    shards = check_chunks_fit(layout.shards, volume.shape, "shard") if layout.shards else None
    check_format(layout.zarr_format)
    codec = get_codec(layout.codec).for_volume(volume)  # a data-scaled codec takes its settings from the volume
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise StoreExistsError(f"{path} already exists; choose a new path or pass overwrite=True")
        remove_store(path)
    return dict(shape=volume.shape, chunks=chunks, dtype=volume.dtype, zarr_format=layout.zarr_format,
                compressor_v2=codec.v2_compressor() if layout.zarr_format == 2 else None,
                codecs_v3=codec.v3_compressors() if layout.zarr_format == 3 else None,
                filters_v2=codec.v2_filters() if layout.zarr_format == 2 else None,
                filters_v3=codec.v3_filters() if layout.zarr_format == 3 else None,
                serializer_v3=codec.v3_serializer() if layout.zarr_format == 3 else "auto",
                fill_value=FILL_VALUE, write_empty_chunks=WRITE_EMPTY_CHUNKS, shards=shards)


@contextlib.contextmanager
def removed_on_failure(path):
    """Remove the store at ``path`` if the block fails (or is interrupted): nothing half-written is left."""
    try:
        yield
    except BaseException:
        remove_store(path)
        raise


def open_store(path):
    """Open a store written by :func:`write_store` for reading."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no Zarr store at {path}; write it first with write_store()")
    return compat.open_array(path)


def read_store(path) -> np.ndarray:
    """Read a whole store back into memory."""
    return open_store(path)[...]


def inspect_store(path) -> StoreStats:
    """Bytes, files and chunk files of a store, from ``os.walk`` and ``stat`` (apparent sizes)."""
    stored_bytes = file_count = chunk_files = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            stored_bytes += os.stat(os.path.join(root, name)).st_size
            file_count += 1
            chunk_files += name not in _METADATA_FILES
    if file_count == 0:
        raise FileNotFoundError(f"no Zarr store at {path}; write it first with write_store()")
    return StoreStats(stored_bytes, file_count, chunk_files)


def remove_store(path) -> None:
    """Delete a store (directory, file or dangling link); a missing path is fine."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()

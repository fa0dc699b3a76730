"""The one way the plain-loop checks prepare what they time: the phantom and its stores, written by its own zarr.

Every cross-check (``zarr-cryoet crosscheck`` and its ``--engines`` and ``--lossy`` variants, ``zarr-cryoet
schedule-study``) and every plain-loop tool (``tools/s3_plain_loop.py``, ``tools/fused_portal_size.py``,
``tools/portal_use_cases.py``) prepares its directory here, in a process of the environment it measures::

    python -m zarr_cryoet.checks.prepare DIR SIZE [LAYOUT ...]

writes ``DIR/volume.npy`` (the phantom of ``SIZE``: ``128``, ``184x630x630``, built or loaded as
:func:`zarr_cryoet.data.phantom_cache.load_phantom` does), ``DIR/particles.npy`` (its particle centres, for the
particle-box reads) and one store per layout (:func:`store`: ``DIR/<codec>_<chunks>_v<format>``; a layout is
``codec:chunks@format``, :func:`layout_arg`; a format this zarr cannot write is left out, as the suite skips it),
then ``DIR/prepared.json``, listing what the directory holds. :func:`prepare` fills a kept directory once (a
tool's WORKDIR: prepared again only when it holds something else); :func:`prepared` a temporary one.
Standard library only here (a tool may run on a bare ``python3``; :func:`layout` names a layout without numpy):
the zarr work happens in the environment's own process.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from zarr_cryoet.checks.plain_loop import Environment, child_environment

MARKER = "prepared.json"
VOLUME, PARTICLES = "volume.npy", "particles.npy"


class LayoutSpec(NamedTuple):
    """A layout by its names (what :class:`~zarr_cryoet.store.stores.Layout` is built from, in the measuring and
    preparing processes): enough for a check's own process, which needs no numpy."""

    codec: str
    spec: str  # "64x64x64" or "32x32x32/128x128x128" (chunks/shards)
    zarr_format: int


def layout(codec: str, spec: str, zarr_format: int | None = None) -> LayoutSpec:
    """A :class:`LayoutSpec`; left out, the format is the one the chunking implies (3 when sharded)."""
    return LayoutSpec(codec, spec, zarr_format or (3 if "/" in spec else 2))


def layout_arg(layout) -> str:
    """A layout (a :class:`LayoutSpec` or a :class:`~zarr_cryoet.store.stores.Layout`) as the preparing process
    takes it: ``codec:chunks@format``."""
    return f"{layout.codec}:{layout.spec}@{layout.zarr_format}"


def _name(arg: str) -> str:
    codec, _, rest = arg.partition(":")
    spec, _, zarr_format = rest.partition("@")
    return f"{codec}_{spec.replace('/', '_s')}_v{zarr_format}"


def _layout(arg: str):
    from zarr_cryoet.store.stores import Layout

    codec, _, rest = arg.partition(":")
    spec, _, zarr_format = rest.partition("@")
    return Layout.from_spec(codec, spec, int(zarr_format))


def store(directory, layout) -> Path:
    """Where the prepared store of ``layout`` lies in ``directory`` (absent where this zarr cannot write it)."""
    return Path(directory) / _name(layout_arg(layout))


def volume(directory) -> Path:
    return Path(directory) / VOLUME


def prepare(env: Environment, directory, size: str, layouts, *, state: str = "pinned") -> Path:
    """``directory``, holding the phantom of ``size`` and a store per layout written by ``env``'s zarr; done once:
    a directory whose :data:`MARKER` lists the same is used as it is."""
    directory = Path(directory)
    wanted = {"size": str(size), "layouts": [layout_arg(layout) for layout in layouts], "python": str(env.python)}
    marker = directory / MARKER
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    try:
        proc = subprocess.run([str(env.python), "-m", "zarr_cryoet.checks.prepare", str(directory), str(size),
                               *wanted["layouts"]], env=child_environment(state), capture_output=True, text=True)
    except OSError as err:
        raise RuntimeError(f"cannot run the Python of zarr {env.zarr}, {env.python}: {err.strerror or err}") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"preparing the stores with zarr {env.zarr} ({env.python}) failed: {last}")
    marker.write_text(json.dumps(wanted))
    return directory


@contextlib.contextmanager
def prepared(env: Environment, size: str, layouts, *, state: str = "pinned"):
    """A temporary directory :func:`prepare`-d for ``env``; removed afterwards, also on failure."""
    work = Path(tempfile.mkdtemp(prefix=f"zarr-cryoet-plain-{env.zarr}-"))
    try:
        yield prepare(env, work, size, layouts, state=state)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write(directory, size: str, layouts) -> None:
    """The preparing process's work (in the environment measured): the volume, its particles, the stores."""
    import numpy as np

    from zarr_cryoet.data.phantom_cache import load_phantom
    from zarr_cryoet.store import compat
    from zarr_cryoet.store.stores import parse_chunks, write_store

    built = load_phantom(parse_chunks(size))
    np.save(volume(directory), built.volume)
    np.save(Path(directory) / PARTICLES, built.particle_centres)
    for arg in layouts:
        chosen = _layout(arg)
        if chosen.zarr_format in compat.supported_formats():
            target = Path(directory) / _name(arg)
            if target.exists():
                shutil.rmtree(target)
            write_store(target, built.volume, chosen)


if __name__ == "__main__":
    write(sys.argv[1], sys.argv[2], sys.argv[3:])

"""Large phantoms built once per machine and reused: every asv environment loads the same file.

Building the portal-sized phantom (184 × 630 × 630) takes about 5 s, once per asv environment
and run; loading it from ``.npy`` a tenth of that. A phantom of at least :data:`MIN_VOXELS`
is kept under ``<cache root>/phantoms/`` (:func:`zarr_cryoet.util.files.cache_root`), keyed by shape,
seed, the generator's source code and numpy's version, so a change to either builds it
anew. Smaller ones are built every time (faster than reading them back). The files are
written atomically; a damaged cache entry is rebuilt. The even/odd half maps
(``load_phantom(..., halves=True)``) are kept next to it, in ``halves.npz``, built the first time
they are asked for.
"""

from __future__ import annotations

import hashlib
import inspect
import math

import numpy as np

from zarr_cryoet.data import phantom
from zarr_cryoet.util.files import cache_root, write_atomically

MIN_VOXELS = 256 ** 3


def _key(shape, seed: int) -> str:
    digest = hashlib.sha256(inspect.getsource(phantom).encode() + np.__version__.encode()).hexdigest()[:16]
    return f"{'x'.join(map(str, shape))}-seed{seed}-{digest}"


def load_phantom(shape, seed: int = phantom.DEFAULT_SEED, *, halves: bool = False) -> phantom.Phantom:
    """``phantom.make_phantom(shape, seed, halves=halves)``, from the cache when it is large."""
    shape = phantom._validate_shape(shape)
    if math.prod(shape) < MIN_VOXELS:
        return phantom.make_phantom(shape, seed, halves=halves)
    directory = cache_root() / "phantoms" / _key(shape, seed)
    stored = _read(directory / "phantom.npz", shape, ("volume",))
    pair = _read(directory / "halves.npz", shape, ("even", "odd")) if halves else None
    if stored is not None and (pair is not None or not halves):
        return phantom.Phantom(stored["volume"], stored["particle_centres"], stored["particle_radii"],
                               halves=None if pair is None else (pair["even"], pair["odd"]))
    built = phantom.make_phantom(shape, seed, halves=halves)  # not cached yet, or damaged: build it
    _write(directory / "phantom.npz", volume=built.volume, particle_centres=built.particle_centres,
           particle_radii=built.particle_radii)
    if halves:
        _write(directory / "halves.npz", even=built.halves[0], odd=built.halves[1])
    return built


def _read(path, shape, volumes) -> dict | None:
    """The arrays of ``path``, or None where it is missing or damaged (a volume of another shape or type)."""
    try:
        with np.load(path) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (OSError, ValueError, KeyError):
        return None
    for name in volumes:
        if name not in arrays or arrays[name].shape != shape or arrays[name].dtype != np.float32:
            return None
        arrays[name] = np.ascontiguousarray(arrays[name])
    return arrays


def _write(path, **arrays) -> None:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_atomically(path, buffer.getvalue())

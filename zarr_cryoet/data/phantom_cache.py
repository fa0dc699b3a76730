"""Large phantoms built once per machine and reused: every asv environment loads the same file.

Building the portal-sized phantom (184 × 630 × 630) takes about 5 s, once per asv environment
and run; loading it from ``.npy`` a tenth of that. A phantom of at least :data:`MIN_VOXELS`
is kept under ``<cache root>/phantoms/`` (:func:`zarr_cryoet.util.files.cache_root`), keyed by shape,
seed, the generator's source code and numpy's version, so a change to either builds it
anew. Smaller ones are built every time (faster than reading them back). The files are
written atomically; a damaged cache entry is rebuilt.
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


def load_phantom(shape, seed: int = phantom.DEFAULT_SEED) -> phantom.Phantom:
    """``phantom.make_phantom(shape, seed)``, from the cache when it is large."""
    shape = phantom._validate_shape(shape)
    if math.prod(shape) < MIN_VOXELS:
        return phantom.make_phantom(shape, seed)
    directory = cache_root() / "phantoms" / _key(shape, seed)
    try:
        with np.load(directory / "phantom.npz") as stored:
            volume = stored["volume"]
            if volume.shape == shape and volume.dtype == np.float32:
                return phantom.Phantom(np.ascontiguousarray(volume), stored["particle_centres"],
                                       stored["particle_radii"])
    except (OSError, ValueError, KeyError):
        pass  # not cached yet, or damaged: build it
    built = phantom.make_phantom(shape, seed)
    import io

    buffer = io.BytesIO()
    np.savez(buffer, volume=built.volume, particle_centres=built.particle_centres,
             particle_radii=built.particle_radii)
    write_atomically(directory / "phantom.npz", buffer.getvalue())
    return built

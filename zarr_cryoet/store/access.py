"""How tomograms are read, as selections: the access patterns of viewers and sub-tomogram averaging.

* :func:`random_planes`: orthogonal slices (XY, XZ, YZ) at fixed-seed random
  positions, what a viewer shows while someone browses a tomogram;
* :func:`particle_boxes`: cubic boxes around particles, what sub-tomogram
  averaging extracts: centred on known particle positions (the phantom's ground
  truth) or, for real data without annotations, on fixed-seed random positions;
* :func:`z_slabs`: the whole volume as consecutive z-slabs, in order, like a
  viewer scrolling through it or a pipeline streaming it;
* :func:`chunks_touched`: how many chunks (or shards) a set of selections
  reads, computed from the geometry alone: what each pattern costs a store
  that answers one request per chunk.

Every selection is a tuple of three slices (or a plane index) that numpy and
zarr both accept, so a read can always be checked against the volume.
"""

from __future__ import annotations

import math

import numpy as np

PATTERN_SEED = 20241125
PLANES_PER_AXIS = 4
BOXES = 16
SLAB = 16

Selection = tuple


def random_planes(shape, per_axis: int = PLANES_PER_AXIS, seed: int = PATTERN_SEED) -> dict[str, list[Selection]]:
    """``per_axis`` XY, XZ and YZ planes at random (fixed-seed) positions: {"xy": [...], "xz": ..., "yz": ...}."""
    rng = np.random.default_rng(seed)
    out = {}
    for axis, name in enumerate(("xy", "xz", "yz")):
        positions = rng.choice(shape[axis], size=min(per_axis, shape[axis]), replace=False)
        out[name] = [tuple(int(p) if a == axis else slice(None) for a in range(3)) for p in sorted(positions)]
    return out


def particle_boxes(shape, box: int, n: int = BOXES, centres=None, seed: int = PATTERN_SEED) -> list[Selection]:
    """``n`` boxes of ``box``³ voxels, centred on ``centres`` (sampled with a fixed seed) or on random points.

    Boxes are clipped at the volume's edges the way extraction tools shift
    them: a box near a face is moved inside, so every box has the full size.
    """
    shape = tuple(int(s) for s in shape)
    if any(box > s for s in shape):
        raise ValueError(f"a {box}³ box does not fit in a volume of shape {shape}; choose a smaller box")
    rng = np.random.default_rng(seed)
    if centres is not None and len(centres):
        centres = np.asarray(centres)
        centres = centres[rng.choice(len(centres), size=min(n, len(centres)), replace=False)]
    else:
        centres = np.stack([rng.integers(0, s, size=n) for s in shape], axis=1)
    boxes = []
    for centre in centres.tolist():
        start = [min(max(c - box // 2, 0), s - box) for c, s in zip(centre, shape)]
        boxes.append(tuple(slice(a, a + box) for a in start))
    return boxes


def z_slabs(shape, thickness: int = SLAB) -> list[Selection]:
    """The volume as consecutive z-slabs of ``thickness`` planes (the last may be thinner)."""
    return [(slice(z, min(z + thickness, shape[0])), slice(None), slice(None))
            for z in range(0, shape[0], thickness)]


def _span(sel, size: int) -> tuple[int, int]:
    if isinstance(sel, slice):
        start, stop, _ = sel.indices(size)
        return start, stop
    return int(sel), int(sel) + 1


def selected_voxels(selections, shape) -> int:
    """How many voxels ``selections`` select in total (from the geometry; nothing is allocated)."""
    return sum(math.prod(stop - start for start, stop in (_span(sel, n) for sel, n in zip(selection, shape)))
               for selection in selections)


def chunks_touched(selections, shape, chunks) -> int:
    """Distinct chunks (give the shard shape for shards) that ``selections`` overlap, summed per selection.

    A selection read on its own fetches every chunk it overlaps once, so the
    total over a pattern is the number of chunk reads, i.e. of GET requests
    on an object store without caching.
    """
    total = 0
    for selection in selections:
        counts = []
        for sel, size, chunk in zip(selection, shape, chunks):
            start, stop = _span(sel, size)
            counts.append(math.ceil(stop / chunk) - start // chunk)
        total += math.prod(counts)
    return total


def middle_planes(shape) -> dict[str, Selection]:
    """The middle XY, XZ and YZ planes of a (z, y, x) volume."""
    nz, ny, nx = shape
    return {"xy": (nz // 2, slice(None), slice(None)),
            "xz": (slice(None), ny // 2, slice(None)),
            "yz": (slice(None), slice(None), nx // 2)}


def pattern(name: str, shape, particles=None) -> list[Selection]:
    """The selections of a named pattern (the ``pattern`` parameter of the access benchmarks)."""
    if name in ("xy", "xz", "yz"):
        return random_planes(shape)[name]
    if name.startswith("box"):
        return particle_boxes(shape, int(name[3:]), centres=particles)
    if name == "zslabs":
        return z_slabs(shape)
    raise ValueError(f"unknown access pattern {name!r}; use xy, xz, yz, box32, box64 or zslabs")


PATTERNS = ("xy", "xz", "yz", "box32", "box64", "zslabs")

"""``recommend --shape Z,Y,X``: the answer at another volume's shape, measured where measured, else extrapolated.

The suite measures two sizes: the portal's tomogram (184 × 630 × 630, every core) and 128³ (one core). For
any other shape the times are **extrapolated** from the measured size nearest in voxel count, by one rule:

    time at your shape = measured time × (chunks the use case's reads touch at your shape
                                          ÷ chunks they touch at the measured shape), per layout

(inner chunks for shards; the reads' selections placed the same way at both shapes: middle planes and the
whole volume counted, :mod:`zarr_cryoet.store.access`; 16 particle boxes cost the same at any size). It assumes
each chunk costs the same to fetch and decode at both sizes, and it ignores fixed costs (opening the array,
thread start-up, a request's round trip overlapped by others), so it overstates growth for small reads and
understates the benefit of more cores on large ones. Every extrapolated time is marked ``≈`` and every
extrapolated answer names the size it comes from and this rule. A time is scaled whole: its value, each
process's minimum and so its interval's ends (a measured band, relative to the value, stays as it is); the
comparisons with the best are made again on the scaled times, by the caller
(:func:`zarr_cryoet.answer.recommend.compare_rows`: each layout is scaled by its own factor).
"""

from __future__ import annotations

import math
from dataclasses import replace

from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.measure import object_traffic
from zarr_cryoet.store import access
from zarr_cryoet.stats.estimate import Estimate
from zarr_cryoet.store.stores import InvalidChunksError, parse_chunks

RULE = ("≈ extrapolated: measured time × (chunks the reads touch at this shape ÷ at the measured one), per layout; "
        "fixed costs ignored")

#: the reads of each use case, as selections of a volume's shape (for counting the chunks they touch)
_WORKLOADS = {"xy-viewer": ("xy",), "orthogonal": ("orthogonal",), "particles": ("box32",),
              "particles-64": ("box64",), "whole-volume": ("full",), "remote": ("planes4", "box32"),
              "object-storage": ("xy", "full")}


class ShapeError(ZarrCryoetError, ValueError):
    """A --shape that names no volume."""


def parse(text: str) -> tuple[int, int, int]:
    """``"184,630,630"`` (or ``184x630x630``) -> (184, 630, 630), in Z, Y, X order."""
    parts = text.replace(",", "x").split("x")
    try:
        if len(parts) != 3:
            raise InvalidChunksError(text)
        return parse_chunks("x".join(parts))  # the one parser of Z x Y x X triples
    except InvalidChunksError:
        raise ShapeError(f"--shape {text!r} is not three positive voxel counts; give Z,Y,X, "
                         "e.g. --shape 184,630,630") from None


def chunks_read(use_case: str, chunks: str, shape) -> float:
    """The chunks ``use_case``'s reads touch in a volume of ``shape``: counted for planes and the whole volume;
    for particle boxes the expected count at a random place, ∏ (box − 1) / chunk + 1 per box, which does not
    depend on the volume's size (the same 16 boxes are read in any tomogram)."""
    inner = tuple(min(int(n), s) for n, s in zip(str(chunks).split("/")[0].split("x"), _fitted(use_case, shape)))
    total = 0.0
    for workload in _WORKLOADS[use_case]:
        if workload.startswith("box"):
            box = int(workload[3:])
            total += access.BOXES * math.prod((box - 1) / c + 1 for c in inner)
        else:
            found = (access.pattern("xy", shape) if workload == "planes4"
                     else object_traffic.selections(workload, shape))
            total += access.chunks_touched(found, shape, inner)
    return total


def chunk_factor(use_case: str, chunks: str, measured, target) -> float:
    """How many times more chunks ``use_case``'s reads touch at ``target`` than at ``measured``."""
    before = chunks_read(use_case, chunks, tuple(measured))
    return chunks_read(use_case, chunks, tuple(target)) / before if before else math.nan


def _fitted(use_case: str, shape):
    if use_case == "particles-64" and min(shape) < 64 or use_case in ("particles", "remote") and min(shape) < 32:
        raise ShapeError(f"a volume of {'×'.join(map(str, shape))} is smaller than the particle boxes; "
                         "choose a larger --shape")
    return shape


def nearest(measured: dict, target) -> str:
    """The measured size (key of ``measured``: size -> shape) nearest ``target`` in voxel count (log scale)."""
    voxels = math.prod(target)
    return min(measured, key=lambda size: abs(math.log(math.prod(measured[size]) / voxels)))


def scaled(found: Estimate, factor: float) -> Estimate:
    """``found`` × ``factor``: its value and every process's minimum (its band, relative, unchanged)."""
    return replace(found, value=found.value * factor, minima=tuple(m * factor for m in found.minima))


def scale(answer, measured_shape, target):
    """``answer`` with every layout's time scaled to ``target`` and re-ranked (:data:`RULE`), its comparisons
    with the best left to be made again (:func:`zarr_cryoet.answer.recommend.compare_rows`); unchanged when
    ``target`` is the measured shape."""
    if tuple(target) == tuple(measured_shape):
        return answer
    ranked = [replace(r, time=scaled(r.time, chunk_factor(answer.use_case.key, r.chunks, measured_shape, target)))
              for r in answer.ranked]
    return replace(answer, ranked=tuple(sorted(ranked, key=lambda r: r.seconds)), scaled_to=tuple(target),
                   comparisons={})

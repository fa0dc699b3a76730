"""Data sources: one spec string names the tomogram every benchmark runs on.

``phantom`` (the default) is the embedded synthetic tomogram at 128³;
``phantom:SIZE`` makes it SIZE³ (e.g. ``phantom:256``). The benchmarks read the
spec from the ``ZARR_CRYOET_SOURCE`` environment variable.
"""

from __future__ import annotations

import os

import numpy as np

from .errors import ZarrCryoetError
from .phantom import DEFAULT_SHAPE, phantom_volume

SOURCE_ENV = "ZARR_CRYOET_SOURCE"
DEFAULT_SOURCE = "phantom"


class InvalidSourceError(ZarrCryoetError, ValueError):
    """A source spec that cannot be understood."""


def source_from_env() -> str:
    """The spec in ``$ZARR_CRYOET_SOURCE``, or the default."""
    return os.environ.get(SOURCE_ENV, "").strip() or DEFAULT_SOURCE


def load_source(spec: str = DEFAULT_SOURCE) -> np.ndarray:
    """Load the volume that ``spec`` names, as a C-contiguous float32 (z, y, x) array."""
    kind, _, arg = spec.partition(":")
    if kind == "phantom":
        return phantom_volume(_phantom_shape(arg, spec))
    raise InvalidSourceError(
        f"unknown data source {spec!r}; use 'phantom' or 'phantom:SIZE' (e.g. phantom:256)"
    )


def _phantom_shape(arg: str, spec: str) -> tuple[int, int, int]:
    if not arg:
        return DEFAULT_SHAPE
    try:
        size = int(arg)
    except ValueError:
        size = 0
    if size <= 0:
        raise InvalidSourceError(
            f"bad phantom size in {spec!r}; give a positive integer edge length, e.g. phantom:256"
        )
    return (size, size, size)

"""Crop boxes: which part of a (large) tomogram the suite reads.

Real tomograms are hundreds of MB; the suite benchmarks a crop of them (by
default a centred 128³ cube), and readers fetch only the chunks the crop
touches.
"""

from __future__ import annotations

from dataclasses import dataclass

from zarr_cryoet.util.errors import ZarrCryoetError

DEFAULT_CROP_SIZE = 128


class InvalidCropError(ZarrCryoetError, ValueError):
    """A crop that is malformed or does not fit inside the volume."""


@dataclass(frozen=True)
class Crop:
    """A box ``start .. start + shape`` in (z, y, x) voxels."""

    start: tuple[int, int, int]
    shape: tuple[int, int, int]

    def slices(self) -> tuple[slice, slice, slice]:
        return tuple(slice(s, s + n) for s, n in zip(self.start, self.shape))

    def as_dict(self) -> dict:
        return {"start": list(self.start), "shape": list(self.shape)}


def _three_ints(value, what: str) -> tuple[int, int, int]:
    if isinstance(value, int):
        value = (value,) * 3
    try:
        out = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        out = ()
    if len(out) != 3:
        raise InvalidCropError(f"crop {what} {value!r} is not one or three integers; give e.g. 128 or 64,128,128")
    return out


def make_crop(volume_shape, size=DEFAULT_CROP_SIZE, offset=None) -> Crop:
    """A crop of ``size`` (int or (z, y, x)) at ``offset``, or centred if ``offset`` is None.

    ``size=None`` means the whole volume.
    """
    volume_shape = tuple(int(n) for n in volume_shape)
    if len(volume_shape) != 3:
        raise InvalidCropError(
            f"the data has shape {volume_shape}, not 3-D (z, y, x); choose a single tomogram or level")
    shape = volume_shape if size is None else _three_ints(size, "size")
    if any(n <= 0 for n in shape):
        raise InvalidCropError(f"crop size {shape} must be positive; give e.g. --size 128")
    if any(n > v for n, v in zip(shape, volume_shape)):
        raise InvalidCropError(
            f"crop size {shape} is larger than the volume {volume_shape}; choose --size <= {min(volume_shape)}")
    if offset is None:
        start = tuple((v - n) // 2 for n, v in zip(shape, volume_shape))
    else:
        start = _three_ints(offset, "offset")
        if any(s < 0 or s + n > v for s, n, v in zip(start, shape, volume_shape)):
            raise InvalidCropError(
                f"crop at {start} of size {shape} does not fit in the volume {volume_shape}; move or shrink it")
    return Crop(start, shape)

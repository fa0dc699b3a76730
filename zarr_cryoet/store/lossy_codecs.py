"""Lossy codecs, and the lossless float codecs they are compared with.

Tomograms are noise-dominated float32: lossless codecs gain 1.1-1.2×, because the low
mantissa bits are noise. These codecs drop (part of) that noise, each the way its field
uses it, on zarr format 2 and 3 alike (:mod:`zarr_cryoet.store.codecs`):

* **BitRound** (numcodecs): keep 2, 4, 7 or 10 of the 23 mantissa bits, then Blosc-Zstd.
* **Quantize** (numcodecs): round to ``digits`` decimal digits, then Blosc-Zstd. The digits are
  taken from the data: ``quantize-N`` keeps N digits below the decade of the volume's σ, so
  ``quantize-0`` steps by at most σ's decade (Quantize stores ``digits``; its step is the power of
  two at or below ``10**-digits``).
* **Scale-offset to int8 / int16** (numcodecs ``FixedScaleOffset``): the volume's range
  ``[min, max]`` is mapped onto the integer type's symmetric range (no value can overflow),
  then Blosc-Zstd. Offset and scale are stored in the metadata; the data decodes to float32.
* **float16** (numcodecs ``AsType``), then Blosc-Zstd. The portal's tomograms are of order
  1e-5, below float16's smallest normal number (6.1e-5): they are stored as subnormals,
  with an absolute step of 6e-8.
* **ZFP** (numcodecs ``ZFPY``): fixed accuracy with a tolerance of σ/16, σ/4, σ or 4σ
  (``zfp-accuracy-<tolerance in σ>``; σ: the volume's standard deviation, which on a tomogram is
  mostly noise), and fixed rate (1, 2, 4 and 8 bits per voxel, i.e. 32× to 4×).

The grid reaches past the settings that keep the data, so that the benchmarks show where
fidelity breaks, not only that the gentle settings keep it.

Lossless float codecs for reference: ``pcodec`` (numcodecs ``PCodec``, level 8) and
Blosc-Zstd with bit shuffle (``blosc-zstd-5-bitshuffle``, from the sweep).

:func:`roundtrip` is what a reader must get back from a store with one of these codecs:
every chunk encoded and decoded by numcodecs alone, padded at the edges with the fill value
as zarr does, so a read can be checked without trusting the zarr that wrote it.
"""

from __future__ import annotations

import itertools
import math

import numcodecs
import numpy as np

from zarr_cryoet.store.codecs import Codec, VolumeStats

#: the lossless stage after a lossy filter: the portal's Blosc-Zstd (clevel 5, byte shuffle)
_BLOSC_ZSTD = {"cname": "zstd", "clevel": 5, "shuffle": 1}


def _filtered(name: str, label: str, filters=(), tune=None) -> Codec:
    return Codec(name, label, "blosc", dict(_BLOSC_ZSTD), tuple(filters), lossy=True, tune=tune)


def _quantize(significant: int):
    def tune(stats: VolumeStats) -> Codec:
        digits = significant - math.floor(math.log10(stats.sigma))
        return _filtered("", "", [{"id": "quantize", "digits": int(digits), "dtype": "<f4"}])
    return tune


def _scale_offset(bits: int):
    def tune(stats: VolumeStats) -> Codec:
        half_range = (stats.maximum - stats.minimum) / 2 or 1.0
        # 2^(bits-1) - 1 steps per half range: the extremes land on ±127 (±32767), never beyond
        scale = (2 ** (bits - 1) - 1) / half_range
        return _filtered("", "", [{"id": "fixedscaleoffset", "offset": (stats.maximum + stats.minimum) / 2,
                                   "scale": scale, "dtype": "<f4", "astype": f"<i{bits // 8}"}])
    return tune


def _zfp_accuracy(sigmas: float):
    def tune(stats: VolumeStats) -> Codec:
        return Codec("", "", "zfpy", {"mode": 4, "tolerance": stats.sigma * sigmas})
    return tune


def _sigma_fraction(value: float) -> str:
    return "σ" if value == 1 else (f"σ/{round(1 / value)}" if value < 1 else f"{value:g}σ")


LOSSY_CODECS: dict[str, Codec] = {codec.name: codec for codec in (
    *(_filtered(f"bitround-{keep}", f"BitRound {keep} bits + Blosc-Zstd", [{"id": "bitround", "keepbits": keep}])
      for keep in (2, 4, 7, 10)),
    *(_filtered(f"quantize-{n}", f"Quantize, σ's decade + {n} digits, + Blosc-Zstd", tune=_quantize(n))
      for n in (0, 1, 2)),
    *(_filtered(f"scaleoffset-int{bits}", f"Scale-offset int{bits} + Blosc-Zstd", tune=_scale_offset(bits))
      for bits in (8, 16)),
    _filtered("float16", "float16 + Blosc-Zstd", [{"id": "astype", "encode_dtype": "<f2", "decode_dtype": "<f4"}]),
    *(Codec(f"zfp-accuracy-{tolerance:g}", f"ZFP tolerance {_sigma_fraction(tolerance)}", "zfpy", lossy=True,
            tune=_zfp_accuracy(tolerance)) for tolerance in (1 / 16, 1 / 4, 1, 4)),
    *(Codec(f"zfp-rate-{rate}", f"ZFP rate {rate} bits/voxel", "zfpy", {"mode": 2, "rate": rate}, lossy=True)
      for rate in (1, 2, 4, 8)),
)}
"""The lossy codecs (benchmark parameter name -> codec)."""

FLOAT_CODECS: dict[str, Codec] = {"pcodec": Codec("pcodec", "pcodec (lossless)", "pcodec", {"level": 8})}
"""Lossless codecs made for float data (Blosc with bit shuffle is in the sweep)."""

#: the lossless reference points of the lossy question, then every lossy codec
LOSSY_QUESTION: tuple[str, ...] = ("blosc-zstd", "blosc-zstd-5-bitshuffle", "pcodec", *LOSSY_CODECS)
#: one setting per family, whose write and read times the default grid measures (the full grid: all)
SPEED_DEFAULT: tuple[str, ...] = ("blosc-zstd", "pcodec", "bitround-4", "quantize-1", "scaleoffset-int8",
                                  "float16", "zfp-accuracy-0.25", "zfp-rate-4")


def roundtrip(volume: np.ndarray, codec: Codec, chunks, fill_value: float = 0.0) -> np.ndarray:
    """``volume`` as a store of ``codec`` (made concrete for ``volume``) with ``chunks`` decodes:
    each chunk, padded to full size with ``fill_value``, encoded and decoded by numcodecs alone."""
    codec = codec.for_volume(volume)
    filters, compressor = codec.v2_filters() or [], codec.v2_compressor()
    out = np.empty_like(volume)
    grid = [range(0, n, c) for n, c in zip(volume.shape, chunks)]
    for origin in itertools.product(*grid):
        region = tuple(slice(o, min(o + c, n)) for o, c, n in zip(origin, chunks, volume.shape))
        chunk = np.full(chunks, fill_value, dtype=volume.dtype)
        chunk[tuple(slice(0, r.stop - r.start) for r in region)] = volume[region]
        data = chunk
        for f in filters:
            data = f.encode(data)
        if compressor is not None:
            data = compressor.decode(compressor.encode(data))
        for f in reversed(filters):
            data = f.decode(data)
        decoded = numcodecs.compat.ensure_ndarray(data)
        decoded = decoded.view(volume.dtype) if decoded.dtype != volume.dtype else decoded
        decoded = decoded.reshape(chunks)
        out[region] = decoded[tuple(slice(0, r.stop - r.start) for r in region)]
    return out

"""Named codecs, each buildable for zarr format 2 and format 3.

Format 2 stores numcodecs *filters* and one *compressor* in ``.zarray``; format 3
stores a list of zarr ``codecs`` in ``zarr.json`` (array-to-array filters, one
array-to-bytes serializer, bytes-to-bytes compressors). A :class:`Codec` knows how
to produce both from one set of settings, so a benchmark parameter such as
``"blosc-zstd"`` means exactly the same compression on either format and on
either zarr major version. On format 3, numcodecs filters and whole-chunk codecs
(ZFP, pcodec) are zarr's own ``zarr.codecs.numcodecs`` wrappers of the same
numcodecs classes, so both formats decode to the same voxels.

The lossless registry is here; the lossy codecs (and the lossless float codecs they
are compared with) are in :mod:`zarr_cryoet.store.lossy_codecs`.

The Blosc settings (clevel 5, byte shuffle) are those of the CryoET Data
Portal's OME-Zarr tomograms and of the reference gallery this suite replaces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numcodecs
import numpy as np

from zarr_cryoet.util.errors import UnknownCodecError

_BLOSC_SHUFFLE_NAMES = {0: "noshuffle", 1: "shuffle", 2: "bitshuffle"}


@dataclass(frozen=True)
class VolumeStats:
    """What a data-scaled codec takes from the volume (float64 statistics, order-independent enough
    to be the same on every machine to the printed precision)."""

    sigma: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, volume: np.ndarray) -> "VolumeStats":
        return cls(float(np.std(volume, dtype=np.float64)), float(volume.min()), float(volume.max()))


#: whole-chunk codecs: numcodecs *compressors* on format 2, array-to-bytes *serializers* on format 3
WHOLE_CHUNK_KINDS = ("zfpy", "pcodec")


@dataclass(frozen=True)
class Codec:
    """One compression setting.

    ``kind`` is ``"blosc"``, ``"zstd"``, ``"gzip"`` or ``"none"`` (lossless compressors), or
    ``"zfpy"`` / ``"pcodec"`` (codecs of whole float chunks); ``settings`` are that kind's
    parameters (``cname``/``clevel``/``shuffle`` for Blosc, ``level`` for zstd and gzip, the
    numcodecs configuration for ZFP and pcodec). ``filters`` are numcodecs filter configurations
    applied first (e.g. ``{"id": "bitround", "keepbits": 7}``).

    A *data-scaled* codec (``tune`` set) takes settings from the volume (its σ or range);
    :meth:`for_volume` gives the concrete codec, which stores those settings in the array's
    metadata so that any reader decodes it.
    """

    name: str
    label: str
    kind: str
    settings: dict[str, Any] = field(default_factory=dict)
    filters: tuple[dict, ...] = ()
    lossy: bool = False
    tune: Callable[[VolumeStats], "Codec"] | None = field(default=None, compare=False, repr=False)

    def for_volume(self, volume: np.ndarray | VolumeStats) -> "Codec":
        """The concrete codec for ``volume`` (itself unless it is data-scaled)."""
        if self.tune is None:
            return self
        stats = volume if isinstance(volume, VolumeStats) else VolumeStats.of(volume)
        return replace(self.tune(stats), name=self.name, label=self.label, lossy=self.lossy, tune=None)

    def _concrete(self) -> None:
        if self.tune is not None:
            raise ValueError(f"codec {self.name!r} takes its settings from the data; "
                             "call for_volume(volume) first")

    def v2_filters(self) -> list | None:
        """The numcodecs filters written to ``.zarray`` (format 2), or None."""
        self._concrete()
        return [numcodecs.get_codec(dict(config)) for config in self.filters] or None

    def v3_filters(self) -> list | None:
        """The array-to-array codecs of ``zarr.json`` (format 3; zarr >= 3.1), or None."""
        self._concrete()
        return [_zarr3_numcodec(config) for config in self.filters] or None

    def v3_serializer(self):
        """The array-to-bytes codec of ``zarr.json``: ZFP or pcodec, else zarr's default (``"auto"``)."""
        self._concrete()
        if self.kind in WHOLE_CHUNK_KINDS:
            return _zarr3_numcodec({"id": self.kind, **self.settings})
        return "auto"

    def v2_compressor(self) -> numcodecs.abc.Codec | None:
        """The numcodecs compressor written to ``.zarray`` (format 2)."""
        self._concrete()
        if self.kind == "none":
            return None
        if self.kind in WHOLE_CHUNK_KINDS:
            return numcodecs.get_codec({"id": self.kind, **self.settings})
        if self.kind == "blosc":
            return numcodecs.Blosc(cname=self.settings["cname"], clevel=self.settings["clevel"],
                                   shuffle=self.settings["shuffle"])
        if self.kind == "zstd":
            return numcodecs.Zstd(level=self.settings["level"])
        if self.kind == "gzip":
            return numcodecs.GZip(level=self.settings["level"])
        raise AssertionError(f"unhandled codec kind {self.kind!r}")

    def v3_compressors(self) -> list:
        """The bytes-to-bytes codecs written to ``zarr.json`` (format 3; needs zarr >= 3)."""
        from zarr import codecs as zcodecs  # zarr.codecs only exists on zarr >= 3

        self._concrete()
        if self.kind == "none" or self.kind in WHOLE_CHUNK_KINDS:
            return []
        if self.kind == "blosc":
            return [zcodecs.BloscCodec(cname=self.settings["cname"], clevel=self.settings["clevel"],
                                       shuffle=_BLOSC_SHUFFLE_NAMES[self.settings["shuffle"]])]
        if self.kind == "zstd":
            return [zcodecs.ZstdCodec(level=self.settings["level"])]
        if self.kind == "gzip":
            return [zcodecs.GzipCodec(level=self.settings["level"])]
        raise AssertionError(f"unhandled codec kind {self.kind!r}")


def _zarr3_numcodec(config: dict):
    """zarr's format-3 wrapper (``zarr.codecs.numcodecs``) of the numcodecs codec ``config``."""
    import zarr.codecs.numcodecs as wrappers  # zarr >= 3.1

    settings = dict(config)
    cls = type(numcodecs.get_codec(dict(settings))).__name__
    settings.pop("id")
    return getattr(wrappers, cls)(**settings)


def _blosc(name: str, label: str, cname: str, clevel: int = 5, shuffle: int = 1) -> Codec:
    return Codec(name, label, "blosc", {"cname": cname, "clevel": clevel, "shuffle": shuffle})


CODECS: dict[str, Codec] = {
    codec.name: codec
    for codec in (
        Codec("none", "No compression", "none"),
        _blosc("blosc-zstd", "Blosc-Zstd", "zstd"),
        _blosc("blosc-lz4", "Blosc-LZ4", "lz4"),
        Codec("zstd", "Zstd", "zstd", {"level": 5}),
        Codec("gzip", "Gzip", "gzip", {"level": 5}),
    )
}
"""The registry: benchmark parameter name -> codec."""

CODEC_NAMES: tuple[str, ...] = tuple(CODECS)

SWEEP_BLOSC_CNAMES = ("zstd", "lz4", "lz4hc", "zlib", "blosclz")
SWEEP_LEVELS = (1, 5, 9)
SWEEP_ZSTD_LEVELS = (1, 3, 5, 9, 19)
SWEEP_GZIP_LEVELS = (1, 5, 9)


def _sweep() -> dict[str, Codec]:
    codecs = [_blosc(f"blosc-{cname}-{clevel}-{_BLOSC_SHUFFLE_NAMES[shuffle]}",
                     f"Blosc-{cname} {clevel} {_BLOSC_SHUFFLE_NAMES[shuffle]}", cname, clevel, shuffle)
              for cname in SWEEP_BLOSC_CNAMES for clevel in SWEEP_LEVELS for shuffle in (0, 1, 2)]
    codecs += [Codec(f"zstd-{level}", f"Zstd {level}", "zstd", {"level": level}) for level in SWEEP_ZSTD_LEVELS]
    codecs += [Codec(f"gzip-{level}", f"Gzip {level}", "gzip", {"level": level}) for level in SWEEP_GZIP_LEVELS]
    return {codec.name: codec for codec in codecs}


SWEEP_CODECS: dict[str, Codec] = _sweep()
"""The codec sweep (benchmarks/codec_sweep.py): Blosc cname × clevel × shuffle, zstd and gzip levels."""


def get_codec(name: str) -> Codec:
    """Look a codec up by name (the registry, the sweep, the lossy codecs); an unknown name lists the valid ones."""
    from zarr_cryoet.store.lossy_codecs import FLOAT_CODECS, LOSSY_CODECS

    for registry in (CODECS, SWEEP_CODECS, FLOAT_CODECS, LOSSY_CODECS):
        try:
            if name in registry:
                return registry[name]
        except TypeError:
            break
    raise UnknownCodecError(
        f"unknown codec {name!r}; choose one of: {', '.join(CODEC_NAMES)} "
        f"(or a sweep setting such as blosc-lz4hc-9-bitshuffle, zstd-19, gzip-1; or pcodec, or lossy: {', '.join(LOSSY_CODECS)})"
    )

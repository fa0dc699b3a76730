"""Named lossless codecs, each buildable for zarr format 2 and format 3.

Format 2 stores a single numcodecs *compressor* in ``.zarray``; format 3
stores a list of zarr ``codecs`` in ``zarr.json``. A :class:`Codec` knows how
to produce both from one set of settings, so a benchmark parameter such as
``"blosc-zstd"`` means exactly the same compression on either format and on
either zarr major version.

The Blosc settings (clevel 5, byte shuffle) are those of the CryoET Data
Portal's OME-Zarr tomograms and of the reference gallery this suite replaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numcodecs

from zarr_cryoet.errors import UnknownCodecError

_BLOSC_SHUFFLE_NAMES = {0: "noshuffle", 1: "shuffle", 2: "bitshuffle"}


@dataclass(frozen=True)
class Codec:
    """One lossless compression setting.

    ``kind`` is ``"blosc"``, ``"zstd"``, ``"gzip"`` or ``"none"``; ``settings``
    are that kind's parameters (``cname``/``clevel``/``shuffle`` for Blosc,
    ``level`` for zstd and gzip).
    """

    name: str
    label: str
    kind: str
    settings: dict[str, Any] = field(default_factory=dict)

    def v2_compressor(self) -> numcodecs.abc.Codec | None:
        """The numcodecs compressor written to ``.zarray`` (format 2)."""
        if self.kind == "none":
            return None
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

        if self.kind == "none":
            return []
        if self.kind == "blosc":
            return [zcodecs.BloscCodec(cname=self.settings["cname"], clevel=self.settings["clevel"],
                                       shuffle=_BLOSC_SHUFFLE_NAMES[self.settings["shuffle"]])]
        if self.kind == "zstd":
            return [zcodecs.ZstdCodec(level=self.settings["level"])]
        if self.kind == "gzip":
            return [zcodecs.GzipCodec(level=self.settings["level"])]
        raise AssertionError(f"unhandled codec kind {self.kind!r}")


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
    """Look a codec up by name (the registry, then the sweep); an unknown name lists the valid ones."""
    try:
        return CODECS[name] if name in CODECS else SWEEP_CODECS[name]
    except (KeyError, TypeError):
        raise UnknownCodecError(
            f"unknown codec {name!r}; choose one of: {', '.join(CODEC_NAMES)} "
            "(or a sweep setting such as blosc-lz4hc-9-bitshuffle, zstd-19, gzip-1)"
        ) from None

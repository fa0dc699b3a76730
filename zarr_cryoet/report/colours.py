"""The colours of every figure: codecs, layouts, engines and zarr releases keep one colour each everywhere."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from zarr_cryoet.util.versions import version_key

#: The four codecs of the reference gallery keep their colours in every figure.
CODEC_COLOURS: dict[str, str] = {
    "blosc-zstd": "#45B7D1",
    "blosc-lz4": "#4ECDC4",
    "zstd": "#95E1D3",
    "none": "#F38181",
}

#: The qualitative palette for everything else: matplotlib's "tab10", in order.
PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)

# Codecs other than the four above draw from PALETTE without its cyan (#17becf),
# which is too close to blosc-zstd's #45B7D1 to tell apart. "gzip", the fifth
# codec of the suite, has a pinned slot; any other name (a sweep such as
# "zstd-3") gets a slot from a stable hash of its name.
_CODEC_PALETTE: tuple[str, ...] = PALETTE[:9]
_PINNED_CODEC_SLOTS: dict[str, int] = {"gzip": 0}

# --- colours ------------------------------------------------------------------------


def codec_colour(name: str) -> str:
    """The colour of codec ``name``: fixed for the four gallery codecs, stable for any other.

    Names are compared case-insensitively (``"Blosc-Zstd"`` is ``"blosc-zstd"``).
    Other names get a colour from matplotlib's tab10 palette that is never one of
    :data:`CODEC_COLOURS`; the same name always gets the same colour. Two
    other names may share one; use :func:`codec_colours` to colour several
    codecs in one figure with guaranteed distinct colours.
    """
    key = _codec_key(name)
    if key in CODEC_COLOURS:
        return CODEC_COLOURS[key]
    return _CODEC_PALETTE[_preferred_slot(key)]


def codec_colours(names: Iterable[str]) -> dict[str, str]:
    """Colours for the codecs of one figure, keyed by the names as given.

    The four gallery codecs and ``gzip`` always get their own colours; every other
    name gets its :func:`codec_colour` unless that is already taken in this
    figure, in which case the next free palette colour (so up to nine non-gallery
    codecs are all distinct; beyond that the palette repeats). Deterministic: the
    result depends only on the names and their order.
    """
    names = list(names)
    keys = {name: _codec_key(name) for name in names}
    result: dict[str, str] = {}
    taken: set[int] = set()
    # Fixed colours first, so that hashed names never take a pinned name's slot.
    for name, key in keys.items():
        if key in CODEC_COLOURS:
            result[name] = CODEC_COLOURS[key]
        elif key in _PINNED_CODEC_SLOTS:
            result[name] = _CODEC_PALETTE[_PINNED_CODEC_SLOTS[key]]
            taken.add(_PINNED_CODEC_SLOTS[key])
    slot_of_key: dict[str, int] = {}
    for name, key in keys.items():
        if name in result:
            continue
        if key not in slot_of_key:
            slot = _preferred_slot(key)
            if len(taken) < len(_CODEC_PALETTE):
                while slot in taken:
                    slot = (slot + 1) % len(_CODEC_PALETTE)
            taken.add(slot)
            slot_of_key[key] = slot
        result[name] = _CODEC_PALETTE[slot_of_key[key]]
    return {name: result[name] for name in names}


#: one colour per engine, in every figure
ENGINE_COLOURS = {"zarr-python": "#1f77b4", "zarr-python-fused": "#17becf", "zarrs": "#d62728",
                  "tensorstore": "#2ca02c"}


#: one colour per layout (chunks, or inner chunks / shard), in every figure that has layouts; zarr format 3
#: is the same colour hatched (:data:`FORMAT_HATCH`)
LAYOUT_COLOURS = {
    "16x16x16": "#1f77b4", "32x32x32": "#ff7f0e", "64x64x64": "#2ca02c", "128x128x128": "#d62728",
    "16x128x128": "#9467bd", "32x32x32/128x128x128": "#8c564b", "64x64x64/128x128x128": "#e377c2",
    "16x128x128/128x128x128": "#bcbd22", "32x32x32/32x256x256": "#17becf", "16x128x128/32x256x256": "#7f7f7f",
    "256x256x256": "#393b79",  # the portal's own chunks (tab10 is used up: tab20b's navy)
}
FORMAT_HATCH = {2: "", 3: "///"}

#: one colour per zarr release by age within the results (oldest first): Okabe-Ito, safe for colour blindness
RELEASE_PALETTE = ("#7f7f7f", "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9")
#: regressions and improvements, wherever a figure marks them
SLOWER_COLOUR, FASTER_COLOUR = "#c0392b", "#1e8449"


def layout_colour(chunks: str) -> str:
    """The colour of a layout (``"64x64x64"``, ``"32x32x32/128x128x128"``): fixed for the suite's layouts,
    stable (a hash of the name) for any other."""
    key = str(chunks)
    if key in LAYOUT_COLOURS:
        return LAYOUT_COLOURS[key]
    return PALETTE[zlib.crc32(key.encode()) % len(PALETTE)]


def release_colours(versions) -> dict[str, str]:
    """One colour per zarr release, by age (the versions sorted oldest first)."""
    ordered = sorted(dict.fromkeys(versions), key=version_key)
    return {v: RELEASE_PALETTE[i % len(RELEASE_PALETTE)] for i, v in enumerate(ordered)}


def series_colour(i: int) -> str:
    """The colour of the ``i``-th categorical series (chunk shapes, zarr versions, slices …).

    Matplotlib's tab10 palette in order, repeating after ten.
    """
    return PALETTE[int(i) % len(PALETTE)]


def _codec_key(name: str) -> str:
    return str(name).strip().lower()


def _preferred_slot(key: str) -> int:
    if key in _PINNED_CODEC_SLOTS:
        return _PINNED_CODEC_SLOTS[key]
    # crc32 is stable across runs and platforms (unlike hash()).
    return zlib.crc32(key.encode("utf-8")) % len(_CODEC_PALETTE)

"""How much lossy compression is safe? Ratio, speed and fidelity of lossy codecs, judged by the FSC.

Every codec of :data:`zarr_cryoet.store.lossy_codecs.LOSSY_QUESTION` (BitRound, Quantize,
scale-offset to int8/int16, float16 and ZFP, with the lossless Blosc-Zstd, Blosc-Zstd with
bit shuffle and pcodec as reference points) on the default layout, 64³ chunks, on zarr formats
2 and 3. ``Storage`` and ``Fidelity`` cover every codec (deterministic, computed once; ``Fidelity``
on format 2, both formats in the full grid; ``AgainstTruth`` on the phantom only, ``PSNR`` for lossy
codecs only);
``Write`` and ``Read`` time one setting per family on format 2 (:data:`SPEED_DEFAULT`), every
setting on both formats in the full grid. ``Fidelity`` tracks what each keeps of the data
(:mod:`zarr_cryoet.fidelity.metrics`): RMSE and maximum error in units of σ, PSNR, where the
FSC against the original falls below 0.5 and 0.143, the FSC against the phantom's noise-free
truth, and the correlation of particle boxes. Reads are checked against the volume as
numcodecs alone decodes it. ``HalfMaps`` judges each setting without a truth: compress the data's
even/odd half maps (the phantom's, or a ``halves:EVEN,ODD`` source's) and track how much the FSC between
them drops (:mod:`zarr_cryoet.fidelity.half_maps`); skipped on data without half maps. Own setup cache
(it keeps the truth and the half maps), built only when it runs.
"""

import json
from pathlib import Path

import numpy as np

from zarr_cryoet.data import provenance, sources
from zarr_cryoet.store import stores
from zarr_cryoet.store.codecs import get_codec
from zarr_cryoet.store.lossy_codecs import LOSSY_QUESTION, SPEED_DEFAULT, roundtrip
from zarr_cryoet.util.files import write_atomically

from . import common
from .suite import FULL_VOLUME, LayoutSuite

speed = LayoutSuite({"codec": common.grid(default=SPEED_DEFAULT, full=LOSSY_QUESTION),
                     "zarr_format": common.grid(default=[2], full=[2, 3])}, chunks="64x64x64")
storage = LayoutSuite({"codec": LOSSY_QUESTION, "zarr_format": [2, 3]}, chunks="64x64x64")
# the same voxels on format 3 (the same numcodecs decode them; tested), so format 2 only by default
fidelity = LayoutSuite({"codec": LOSSY_QUESTION, "zarr_format": common.grid(default=[2], full=[2, 3])},
                       chunks="64x64x64")
LAYOUTS = list(dict.fromkeys(speed.layouts + storage.layouts))


@common.built_once
def setup_cache():
    cache = common.build_cache(LAYOUTS, truth=True)
    # the half maps (the phantom's even/odd pair, or a halves: source's), loaded a second time: build_cache
    # keeps the volume only; they are kept next to it for HalfMaps, None on data without them
    halves = sources.load(sources.SourceRequest.from_env(), halves=True).halves
    cache["halves_paths"] = None
    if halves is not None:
        cache["halves_paths"] = [str(Path(cache["dir"], f"half_{name}.npy")) for name in ("even", "odd")]
        for path, half in zip(cache["halves_paths"], halves):
            np.save(path, half)
    return cache


def measured_half_maps(cache: dict, layout: stores.Layout) -> dict:
    """The half-map figures (:func:`zarr_cryoet.fidelity.half_maps.measure`) of ``layout``'s codec: each half
    encoded and decoded by numcodecs alone, chunk by chunk (what every zarr must read back: ``Read`` and
    ``Fidelity`` check that on the volume), with the setting made concrete for that half as for any
    tomogram; computed once per setup cache and codec, every ``track_`` method reads the memo."""
    from zarr_cryoet.fidelity import half_maps

    if not cache.get("halves_paths"):
        raise NotImplementedError("no half maps: the phantom has them; for your data give "
                                  "ZARR_CRYOET_SOURCE=halves:EVEN,ODD")
    common.reference_store(cache, layout)  # a layout this zarr cannot write is a skip here too
    memo = Path(cache["dir"], "half_maps", f"{layout.codec}_{stores.format_chunks(layout.chunks)}.json")
    if memo.is_file():
        return json.loads(memo.read_text())
    even, odd = (np.load(path) for path in cache["halves_paths"])
    codec = get_codec(layout.codec)
    decoded = [roundtrip(half, codec, layout.chunks, stores.FILL_VALUE) for half in (even, odd)]
    voxel_size = provenance.voxel_size_angstrom(json.loads(Path(cache["dir"], "provenance.json").read_text()))
    figures = half_maps.measure(even, odd, *decoded, voxel_size=voxel_size).to_dict()
    write_atomically(memo, json.dumps(figures))
    return figures


class HalfMaps:
    """Lossy safety without a truth: the FSC between the two compressed half maps, against the halves as they
    were (same parameters as ``Fidelity``; deterministic, computed once)."""

    params = fidelity.params
    param_names = fidelity.param_names
    timeout = common.BENCHMARK_TIMEOUT
    version = common.VERSION

    def setup(self, cache, *params):
        self.figures = measured_half_maps(cache, fidelity.layout(dict(zip(self.param_names, params))))

    def track_half_fsc_0143_nyquist(self, cache, *params):
        """Where FSC(decoded even, decoded odd) falls below 0.143 (fraction of Nyquist)."""
        return self.figures["half_fsc_0143_nyquist"]

    def track_half_fsc_0143_shift(self, cache, *params):
        """The halves' 0.143 crossing minus the decoded halves' (fraction of Nyquist; > 0: resolution lost)."""
        return self.figures["half_fsc_0143_shift"]

    def track_half_fsc_max_drop(self, cache, *params):
        """The largest loss of half-map FSC in any shell up to the halves' own 0.143 crossing."""
        return self.figures["half_fsc_max_drop"]

    track_half_fsc_0143_nyquist.unit = track_half_fsc_0143_shift.unit = "fraction of Nyquist"
    track_half_fsc_max_drop.unit = "FSC"


Write = speed.write_class()
Read = speed.read_class(time_read=FULL_VOLUME)
Storage = storage.storage_class("compression_ratio", "stored_bytes")
Fidelity = fidelity.fidelity_class("Fidelity")
AgainstTruth = fidelity.fidelity_class("AgainstTruth")
PSNR = fidelity.fidelity_class("PSNR")
for _cls in (Write, Read, Storage, Fidelity, AgainstTruth, PSNR, HalfMaps):
    _cls.setup_cache = staticmethod(setup_cache)

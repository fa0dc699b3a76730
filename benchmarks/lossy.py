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
numcodecs alone decodes it. Own setup cache (it keeps the truth), built only when it runs.
"""

from zarr_cryoet.store.lossy_codecs import LOSSY_QUESTION, SPEED_DEFAULT

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
    return common.build_cache(LAYOUTS, truth=True)

Write = speed.write_class()
Read = speed.read_class(time_read=FULL_VOLUME)
Storage = storage.storage_class("compression_ratio", "stored_bytes")
Fidelity = fidelity.fidelity_class("Fidelity")
AgainstTruth = fidelity.fidelity_class("AgainstTruth")
PSNR = fidelity.fidelity_class("PSNR")
for _cls in (Write, Read, Storage, Fidelity, AgainstTruth, PSNR):
    _cls.setup_cache = staticmethod(setup_cache)

"""Lossy codecs and the fidelity figures: real stores on disk under the installed zarr, known answers."""

import json
import math

import numpy as np
import pytest

from zarr_cryoet.data.phantom import make_phantom
from zarr_cryoet.util.errors import UnknownCodecError
from zarr_cryoet.fidelity.metrics import measure, normalised_cross_correlation
from zarr_cryoet.fidelity.tiers import FSC_DROP_LIMIT, Tier, tier
from zarr_cryoet.store import access, compat, stores
from zarr_cryoet.store.codecs import VolumeStats, get_codec
from zarr_cryoet.store.lossy_codecs import LOSSY_CODECS, LOSSY_QUESTION, SPEED_DEFAULT, roundtrip
from tests.test_benchmarks import cache_of  # noqa: F401 - a fixture: the setup cache of a benchmark module

SHAPE = (40, 48, 56)  # partial edge chunks on every axis
CHUNKS = (32, 32, 32)


@pytest.fixture(scope="module")
def phantom():
    return make_phantom(SHAPE, truth=True)


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("name", LOSSY_QUESTION)
def test_every_codec_writes_and_reads_back_what_numcodecs_alone_decodes(tmp_path, phantom, name, zarr_format):
    if zarr_format not in compat.supported_formats():
        pytest.skip(f"zarr {compat.ZARR_VERSION} cannot write format 3")
    layout = stores.Layout(name, CHUNKS, zarr_format)
    path = stores.write_store(tmp_path / layout.slug, phantom.volume, layout)
    read = stores.read_store(path)
    expected = roundtrip(phantom.volume, get_codec(name), CHUNKS)
    assert read.dtype == np.float32 and read.shape == SHAPE
    assert np.array_equal(read, expected)
    if get_codec(name).lossy:
        assert not np.array_equal(read, phantom.volume)
    else:
        assert np.array_equal(read, phantom.volume)


def test_data_scaled_settings_are_stored_in_the_metadata(tmp_path, phantom):
    path = stores.write_store(tmp_path / "s.zarr", phantom.volume, stores.Layout("scaleoffset-int8", CHUNKS, 2))
    (config,) = json.loads((path / ".zarray").read_text())["filters"]
    stats = VolumeStats.of(phantom.volume)
    assert config["id"] == "fixedscaleoffset" and config["astype"] in ("|i1", "<i1", "i1")
    assert config["offset"] == pytest.approx((stats.maximum + stats.minimum) / 2)


def test_scale_offset_never_overflows_and_errs_at_most_half_a_step(phantom):
    volume = phantom.volume.copy()
    volume[0, 0, 0], volume[-1, -1, -1] = volume.min() * 1.5, volume.max() * 1.5  # extremes in the corners
    stats = VolumeStats.of(volume)
    for bits in (8, 16):
        decoded = roundtrip(volume, get_codec(f"scaleoffset-int{bits}"), CHUNKS)
        step = (stats.maximum - stats.minimum) / 2 / (2 ** (bits - 1) - 1)
        assert np.abs(decoded.astype(np.float64) - volume).max() <= step / 2 * 1.01


def test_zfp_accuracy_keeps_its_tolerance_and_rounding_keeps_its_bits(phantom):
    volume = phantom.volume
    sigma = VolumeStats.of(volume).sigma
    for tolerance in (1 / 16, 1 / 4, 1):
        decoded = roundtrip(volume, get_codec(f"zfp-accuracy-{tolerance:g}"), CHUNKS)
        assert np.abs(decoded.astype(np.float64) - volume).max() <= tolerance * sigma
    decoded = roundtrip(volume, get_codec("bitround-7"), CHUNKS)
    assert np.all(np.abs(decoded.astype(np.float64) - volume) <= np.abs(volume.astype(np.float64)) * 2.0 ** -8)


def test_a_data_scaled_codec_needs_the_volume_and_names_fail_in_one_line():
    with pytest.raises(ValueError, match="for_volume"):
        get_codec("zfp-accuracy-0.25").v2_compressor()
    with pytest.raises(UnknownCodecError, match="zfp-rate-4"):
        get_codec("zfp-rate-3")
    assert set(SPEED_DEFAULT) <= set(LOSSY_QUESTION)
    assert all(codec.lossy for codec in LOSSY_CODECS.values())


def test_the_phantoms_truth_is_its_volume_without_noise():
    with_truth = make_phantom(SHAPE, truth=True)
    assert np.array_equal(with_truth.volume, make_phantom(SHAPE).volume)  # the volume does not change
    assert make_phantom(SHAPE).truth is None
    noise = with_truth.volume.astype(np.float64) - with_truth.truth
    snr = with_truth.truth.astype(np.float64).var() / noise.var()
    assert 0.3 < snr < 0.6  # the model's signal/noise variance, ~0.45
    assert abs(np.corrcoef(noise.ravel(), with_truth.truth.ravel())[0, 1]) < 0.1


def test_fidelity_of_an_exact_copy(phantom):
    boxes = access.particle_boxes(SHAPE, 16, centres=phantom.particle_centres)
    figures = measure(phantom.volume, phantom.volume.copy(), truth=phantom.truth, boxes=boxes, voxel_size=10.0)
    assert figures.rmse_over_sigma == 0 and figures.max_abs_error == 0 and math.isinf(figures.psnr_db)
    assert figures.fsc_05 == figures.fsc_0143 == 1.0 and figures.fsc_0143_angstrom == 20.0  # 2 voxels
    assert figures.truth_fsc_max_drop == 0 and figures.tier is Tier.LOSSLESS and figures.to_dict()["tier"] == "lossless"
    assert figures.truth_fsc_0143 == figures.original_truth_fsc_0143 < 1
    assert figures.particle_ncc_min == figures.particle_ncc_mean == pytest.approx(1.0)


def test_fidelity_of_known_noise(phantom):
    """Independent noise of σ/2 gives RMSE/σ = 0.5 and PSNR from the range, and already costs FSC against the
    truth; noise of 2σ also drowns the finest shells of the original (the FSC against it crosses 0.143)."""
    rng = np.random.default_rng(1)
    volume = phantom.volume
    sigma = float(volume.std(dtype=np.float64))
    noisy = (volume + rng.standard_normal(SHAPE) * sigma / 2).astype(np.float32)
    figures = measure(volume, noisy, truth=phantom.truth)
    assert figures.rmse_over_sigma == pytest.approx(0.5, rel=0.03)
    assert figures.psnr_db == pytest.approx(20 * math.log10(float(volume.max() - volume.min()) / (sigma / 2)), abs=0.3)
    assert figures.particle_ncc_min is None and figures.tier is Tier.VISIBLE_LOSS
    coarse = measure(volume, (volume + rng.standard_normal(SHAPE) * sigma * 2).astype(np.float32), truth=phantom.truth)
    assert coarse.truth_fsc_max_drop > figures.truth_fsc_max_drop > FSC_DROP_LIMIT
    assert coarse.truth_fsc_0143 < coarse.original_truth_fsc_0143 and coarse.fsc_0143 < 1


def test_gentle_and_coarse_codecs_in_the_best_and_worst_lossy_tiers(phantom):
    boxes = access.particle_boxes(SHAPE, 16, centres=phantom.particle_centres)
    gentle, coarse = (measure(phantom.volume, roundtrip(phantom.volume, get_codec(name), CHUNKS), truth=phantom.truth,
                              boxes=boxes) for name in ("bitround-10", "zfp-rate-1"))
    assert gentle.tier is Tier.KEEPS_EVERY_VOXEL and gentle.rmse_over_sigma < 1e-3
    assert coarse.rmse_over_sigma > 0.3 and coarse.truth_fsc_max_drop > gentle.truth_fsc_max_drop
    assert coarse.tier in (Tier.BELOW_NOISE, Tier.VISIBLE_LOSS)


#: zfp-rate-2 on the 128³ phantom (lossy/lossy_results.csv): its FSC against the truth barely moves, its voxels do
ZFP_RATE_2 = {"rmse_over_sigma": 0.323, "max_abs_error_over_sigma": 2.1, "particle_ncc_min": 0.9372,
              "truth_fsc_max_drop": 0.0054}


@pytest.mark.parametrize(("figures", "expected"), [
    (ZFP_RATE_2, Tier.BELOW_NOISE),  # NCC 0.94: never "keeps every voxel"
    ({**ZFP_RATE_2, "truth_fsc_max_drop": 0.024}, Tier.VISIBLE_LOSS),
    ({**ZFP_RATE_2, "truth_fsc_max_drop": None}, Tier.NOT_JUDGED),  # no truth: the FSC tier cannot be judged
    ({**ZFP_RATE_2, "truth_fsc_max_drop": ""}, Tier.NOT_JUDGED),  # a CSV row of real data
    ({"rmse_over_sigma": 0.028, "particle_ncc_min": 0.9995, "truth_fsc_max_drop": 0.001}, Tier.KEEPS_EVERY_VOXEL),
    ({"rmse_over_sigma": 0.028, "particle_ncc_min": 0.9995, "truth_fsc_max_drop": None}, Tier.KEEPS_EVERY_VOXEL),
    ({"rmse_over_sigma": 0.03, "particle_ncc_min": 0.999}, Tier.KEEPS_EVERY_VOXEL),  # the bounds are inclusive
    ({"rmse_over_sigma": 0.031, "particle_ncc_min": 0.9999, "truth_fsc_max_drop": 0.01}, Tier.BELOW_NOISE),
    ({"rmse_over_sigma": 0.01, "particle_ncc_min": 0.998, "truth_fsc_max_drop": math.nan}, Tier.NOT_JUDGED),
    ({"rmse_over_sigma": 0.0, "particle_ncc_min": 1.0, "truth_fsc_max_drop": 0.0}, Tier.LOSSLESS),
    ({"rmse_over_sigma": "0.028", "particle_ncc_min": "0.9995", "truth_fsc_max_drop": ""}, Tier.KEEPS_EVERY_VOXEL),
    ({"rmse_over_sigma": math.nan, "particle_ncc_min": None, "truth_fsc_max_drop": ""}, None),  # nothing measured
    ({}, None),
])
def test_the_tier_of_a_settings_figures(figures, expected):
    assert tier(figures) is expected


def test_every_tier_names_its_rule():
    assert Tier.KEEPS_EVERY_VOXEL.rule == "RMSE ≤ 0.03 σ, every particle box NCC ≥ 0.999"
    assert str(FSC_DROP_LIMIT) in Tier.BELOW_NOISE.rule and "no noise-free truth" in Tier.NOT_JUDGED.rule
    assert not any("harmless" in t or "harmless" in t.rule for t in Tier)


def test_normalised_cross_correlation():
    a = np.arange(27.0).reshape(3, 3, 3)
    assert normalised_cross_correlation(a, 2 * a + 1) == pytest.approx(1.0)
    assert normalised_cross_correlation(a, -a) == pytest.approx(-1.0)
    assert normalised_cross_correlation(np.zeros(8), np.zeros(8)) == 1.0


@pytest.mark.parametrize("shift, drop, verdict", [
    (0.0, 0.0, "safe without truth"), (-0.0149, 0.0099, "safe without truth"),
    (0.016, 0.0, "loss shows in the half maps"), (-0.016, 0.0, "loss shows in the half maps"),  # up is no better
    (0.0, 0.011, "loss shows in the half maps"), ("", 0.0, None), (0.0, float("nan"), None),
])
def test_the_truth_free_verdict_of_a_settings_half_maps(shift, drop, verdict):
    from zarr_cryoet.fidelity.tiers import half_map_verdict

    found = half_map_verdict({"half_fsc_0143_shift": shift, "half_fsc_max_drop": drop})
    assert (found and str(found)) == verdict


def test_agreement_compares_safe_tiers_with_the_half_maps_verdict():
    from zarr_cryoet.fidelity.tiers import Verdict, agreement, recommended

    safe, shows = ({"half_fsc_0143_shift": 0.0, "half_fsc_max_drop": d} for d in (0.001, 0.05))
    below = {"rmse_over_sigma": 0.3, "particle_ncc_min": 0.9, "truth_fsc_max_drop": 0.005}
    visible = {**below, "truth_fsc_max_drop": 0.02}
    no_truth = {**below, "truth_fsc_max_drop": None}
    assert agreement({**below, **safe}) is True and agreement({**visible, **shows}) is True
    assert agreement({**below, **shows}) is False and agreement({**visible, **safe}) is False
    assert agreement({**no_truth, **safe}) is None and agreement(below) is None  # nothing to compare with
    assert all(v.rule for v in Verdict)
    kept = [{"codec": c, "compression_ratio": r, "rmse_over_sigma": 0.01, "particle_ncc_min": 0.9999}
            for c, r in (("a", 3.0), ("b", 5.0))]
    assert recommended([*kept, {**visible, "codec": "c", "compression_ratio": 30.0}])["codec"] == "b"
    assert recommended([visible]) is None


def test_the_half_map_benchmarks_on_the_phantom_and_on_a_pair_of_mrc_files(cache_of, tmp_path, monkeypatch):
    """Real stores: the lossy setup cache on a 64³ phantom, then on a halves: pair of MRC files, driven as asv does."""
    import mrcfile

    from benchmarks import lossy
    from tests.test_benchmarks import drive, reload_suite
    from zarr_cryoet.data import sources

    cache = cache_of(lossy)
    data = lossy.common.DATA[0]
    figures = {codec: {m: drive(lossy.HalfMaps, m, cache, (data, codec, 2)) for m in (
        "track_half_fsc_0143_nyquist", "track_half_fsc_0143_shift", "track_half_fsc_max_drop")}
        for codec in ("blosc-zstd", "bitround-7", "zfp-rate-1")}
    assert figures["blosc-zstd"]["track_half_fsc_max_drop"] == 0 == figures["blosc-zstd"]["track_half_fsc_0143_shift"]
    assert 0 < figures["blosc-zstd"]["track_half_fsc_0143_nyquist"] < 1
    assert figures["bitround-7"]["track_half_fsc_max_drop"] < 1e-3 < figures["zfp-rate-1"]["track_half_fsc_max_drop"]
    assert lossy.HalfMaps.params == lossy.Fidelity.params  # the same grid as the fidelity figures

    even, odd = make_phantom(64, halves=True).halves
    paths = []
    for name, half in (("even", even), ("odd", odd)):
        with mrcfile.new(tmp_path / f"{name}.mrc") as mrc:
            mrc.set_data(half)
        paths.append(f"mrc:{tmp_path / f'{name}.mrc'}")
    monkeypatch.setenv(sources.SOURCE_ENV, "halves:" + ",".join(paths))
    monkeypatch.setenv(sources.SIZE_ENV, "full")
    try:
        reload_suite()
        (tmp_path / "pair").mkdir()
        monkeypatch.chdir(tmp_path / "pair")
        pair = lossy.setup_cache()
        data = lossy.common.DATA[0]
        assert data.startswith("halves:mrc:")
        assert drive(lossy.AgainstTruth, "track_max_fsc_drop", pair, (data, "zfp-rate-1", 2)) == "skipped"  # no truth
        # the same half maps, so the same figures as on the phantom
        assert drive(lossy.HalfMaps, "track_half_fsc_max_drop", pair, (data, "zfp-rate-1", 2)) == pytest.approx(
            figures["zfp-rate-1"]["track_half_fsc_max_drop"])
    finally:
        monkeypatch.undo()
        reload_suite()  # the benchmark modules read the data at import: back to the default for other tests

import hashlib

import numpy as np
import numcodecs
import pytest

from zarr_cryoet.data.phantom import DEFAULT_SHAPE, make_phantom, phantom_volume


def ratio(codec, volume):
    return volume.nbytes / len(codec.encode(volume))


def test_default_shape_dtype_and_layout(volume):
    assert volume.shape == DEFAULT_SHAPE == (128, 128, 128)
    assert volume.dtype == np.float32
    assert volume.flags.c_contiguous


def test_deterministic_for_a_seed_and_different_across_seeds():
    a = phantom_volume((32, 48, 40), seed=3)
    assert np.array_equal(a, phantom_volume((32, 48, 40), seed=3))
    assert not np.array_equal(a, phantom_volume((32, 48, 40), seed=4))


def test_default_is_pinned_bit_for_bit(volume):
    # The embedded default data: changing it changes every benchmark's input,
    # so it must be a deliberate change of this checksum.
    assert hashlib.sha256(volume.tobytes()).hexdigest() == (
        "95faab3ea0d8a7a4c80463e799e89190b42179b9a90a22126a216dd00d253447")


def test_statistics_look_like_a_normalised_tomogram(volume):
    assert abs(float(volume.mean())) < 1e-7
    assert 0.8e-5 < float(volume.std()) < 1.6e-5
    assert -1e-4 < float(volume.min()) < -3e-5 and 3e-5 < float(volume.max()) < 1e-4
    assert np.isfinite(volume).all()


def test_particles_are_dark(volume):
    ph = make_phantom()
    assert len(ph.particle_centres) > 100
    z, y, x = ph.particle_centres.T
    assert volume[z, y, x].mean() < -0.5 * volume.std()


def test_missing_wedge_elongates_along_z(volume):
    # Correlation between neighbours is stronger along z (beam axis) than along x.
    v = volume.astype(np.float64)
    corr_z = np.corrcoef(v[1:].ravel(), v[:-1].ravel())[0, 1]
    corr_x = np.corrcoef(v[..., 1:].ravel(), v[..., :-1].ravel())[0, 1]
    assert corr_z > corr_x


@pytest.mark.parametrize("codec, low, high", [
    (numcodecs.Blosc("zstd", 5, numcodecs.Blosc.SHUFFLE), 1.14, 1.20),   # real crop: 1.17
    (numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE), 1.06, 1.12),    # real crop: 1.09
    (numcodecs.Zstd(level=5), 1.05, 1.11),                               # real crop: 1.08
])
def test_lossless_ratios_in_the_band_of_real_tomograms(volume, codec, low, high):
    assert low < ratio(codec, volume) < high


def test_any_shape_and_int_shape():
    assert phantom_volume(16).shape == (16, 16, 16)
    assert phantom_volume((17, 33, 65)).shape == (17, 33, 65)


@pytest.mark.parametrize("shape", [(0, 8, 8), (8, 8), (8, 8, 8, 8), "big", (-1, 4, 4)])
def test_bad_shapes_are_rejected(shape):
    with pytest.raises(ValueError):
        phantom_volume(shape)


def test_large_phantoms_are_built_once_and_loaded_from_the_cache(tmp_path, monkeypatch):
    from zarr_cryoet.data import phantom_cache
    from zarr_cryoet.util.files import CACHE_ENV

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(phantom_cache, "MIN_VOXELS", 32 ** 3)
    built = phantom_cache.load_phantom((32, 40, 48))
    [entry] = (tmp_path / "phantoms").iterdir()
    assert entry.name.startswith("32x40x48-seed0-")
    calls = []
    monkeypatch.setattr(phantom_cache.phantom, "make_phantom", lambda *a: calls.append(a))
    loaded = phantom_cache.load_phantom((32, 40, 48))
    assert calls == []  # from the cache
    assert np.array_equal(loaded.volume, built.volume) and loaded.volume.flags.c_contiguous
    assert np.array_equal(loaded.particle_centres, built.particle_centres)
    (entry / "phantom.npz").write_bytes(b"damaged")
    monkeypatch.undo()
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(phantom_cache, "MIN_VOXELS", 32 ** 3)
    assert np.array_equal(phantom_cache.load_phantom((32, 40, 48)).volume, built.volume)  # rebuilt


def test_half_maps_leave_the_volume_alone_and_average_to_it():
    plain, paired = make_phantom(32), make_phantom(32, truth=True, halves=True)
    assert plain.halves is None
    assert np.array_equal(plain.volume, paired.volume)  # the pinned volume is bit-identical with the halves
    even, odd = paired.halves
    assert even.dtype == odd.dtype == np.float32 and even.shape == odd.shape == (32, 32, 32)
    sigma = float(paired.volume.std())
    assert np.abs((even.astype(np.float64) + odd) / 2 - paired.volume).max() < 1e-6 * sigma
    again = make_phantom(32, halves=True).halves
    assert all(np.array_equal(a, b) for a, b in zip(again, paired.halves))  # deterministic from the seed
    assert not np.array_equal(make_phantom(32, seed=1, halves=True).halves[0], even)


def test_half_maps_carry_independent_noise_of_sqrt2_the_volumes_sigma():
    built = make_phantom(64, truth=True, halves=True)
    noise = [np.asarray(v, np.float64) - built.truth for v in (built.volume, *built.halves)]
    full, even, odd = (n.std() for n in noise)
    assert even / full == pytest.approx(np.sqrt(2), rel=0.03) and odd / full == pytest.approx(np.sqrt(2), rel=0.03)
    assert abs(np.corrcoef(noise[1].ravel(), noise[2].ravel())[0, 1]) < 0.03  # independent halves


def test_large_half_maps_are_cached_next_to_the_phantom(tmp_path, monkeypatch):
    from zarr_cryoet.data import phantom_cache
    from zarr_cryoet.util.files import CACHE_ENV

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(phantom_cache, "MIN_VOXELS", 32 ** 3)
    assert phantom_cache.load_phantom(32).halves is None
    built = phantom_cache.load_phantom(32, halves=True)  # the volume is cached, the halves not yet: built
    [entry] = (tmp_path / "phantoms").iterdir()
    assert sorted(p.name for p in entry.iterdir()) == ["halves.npz", "phantom.npz"]
    monkeypatch.setattr(phantom_cache.phantom, "make_phantom", lambda *a, **k: pytest.fail("built again"))
    loaded = phantom_cache.load_phantom(32, halves=True)
    assert np.array_equal(loaded.volume, built.volume)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.halves, built.halves))

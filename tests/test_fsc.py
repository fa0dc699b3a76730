"""The Fourier shell correlation against cases whose answer is known."""

import numpy as np
import pytest

from zarr_cryoet.fidelity.fsc import NYQUIST, FSCCurve, fourier_shell_correlation

N = 64


def white(seed, sigma=1.0, shape=(N, N, N)):
    return np.random.default_rng(seed).normal(0, sigma, shape)


def test_identical_volumes_correlate_fully_in_every_shell():
    a = white(1)
    curve = fourier_shell_correlation(a, a.astype(np.float32))
    assert len(curve.fsc) == N // 2
    np.testing.assert_allclose(curve.fsc, 1.0, atol=1e-6)
    assert curve.frequency[-1] == pytest.approx(NYQUIST)
    assert curve.crossing(0.143) == NYQUIST  # never falls below: "at least Nyquist"


@pytest.mark.parametrize("snr", [1.0, 3.0, 0.25])
def test_two_half_maps_with_independent_noise_give_snr_over_one_plus_snr(snr):
    signal = white(2)
    a, b = signal + white(3, 1 / np.sqrt(snr)), signal + white(4, 1 / np.sqrt(snr))
    curve = fourier_shell_correlation(a, b)
    expected = snr / (1 + snr)
    # shells past the first eight hold a thousand coefficients or more: the estimate's spread is ≲ 0.03 there
    np.testing.assert_allclose(curve.fsc[8:], expected, atol=0.08)
    assert abs(np.mean(curve.fsc[4:]) - expected) < 0.01


def test_a_map_against_its_own_noisy_copy_gives_the_square_root():
    signal = white(5)
    curve = fourier_shell_correlation(signal, signal + white(6))  # SNR 1
    assert abs(np.mean(curve.fsc[4:]) - np.sqrt(0.5)) < 0.01


def test_a_low_pass_cuts_the_correlation_at_its_cut_off():
    a = white(7)
    cutoff = 0.25  # cycles per voxel: half of Nyquist
    kz = np.fft.fftfreq(N)[:, None, None]
    ky = np.fft.fftfreq(N)[None, :, None]
    kx = np.fft.rfftfreq(N)[None, None, :]
    keep = np.sqrt(kz ** 2 + ky ** 2 + kx ** 2) <= cutoff
    b = np.fft.irfftn(np.fft.rfftn(a) * keep, s=a.shape, axes=(0, 1, 2))
    curve = fourier_shell_correlation(a, b)
    width = 1 / N
    below, above = curve.frequency < cutoff - width, curve.frequency > cutoff + width
    # below the cut-off b keeps all of a's signal, above it none: FSC = (kept power / total power)^½
    np.testing.assert_allclose(curve.fsc[below], 1.0, atol=1e-6)
    assert np.all(curve.fsc[above] == 0.0)  # b has only round-off power there: nothing to correlate
    for threshold in (0.5, 0.143):
        assert abs(curve.crossing(threshold) - cutoff) <= width
        assert abs(curve.crossing_fraction_of_nyquist(threshold) - cutoff / NYQUIST) <= 2 * width


def test_crossings_interpolate_between_shells_and_convert_to_angstrom():
    curve = FSCCurve(frequency=np.array([0.1, 0.2, 0.3, 0.4, 0.5]), fsc=np.array([1.0, 0.8, 0.4, 0.1, 0.0]),
                     voxel_size=10.0)
    assert curve.crossing(0.5) == pytest.approx(0.275)
    assert curve.crossing(0.143) == pytest.approx(0.3 + 0.257 / 0.3 * 0.1)
    assert curve.crossing_resolution_angstrom(0.5) == pytest.approx(10.0 / 0.275)
    assert FSCCurve(curve.frequency, curve.fsc).crossing_resolution_angstrom(0.5) is None


def test_non_cubic_volumes_use_the_coarsest_axis_spacing():
    a = white(8, shape=(32, 48, 64))
    curve = fourier_shell_correlation(a, a)
    assert len(curve.fsc) == 16 and curve.frequency[0] == pytest.approx(1 / 32)
    np.testing.assert_allclose(curve.fsc, 1.0, atol=1e-6)


@pytest.mark.parametrize("a, b, phrase", [((8, 8, 8), (8, 8, 9), "one shape"), ((8, 8), (8, 8), "3-D"),
                                          ((2, 8, 8), (2, 8, 8), "too small")])
def test_bad_volumes_are_refused_with_the_reason(a, b, phrase):
    with pytest.raises(ValueError, match=phrase):
        fourier_shell_correlation(np.zeros(a), np.zeros(b))


def test_half_map_figures_of_an_exact_copy_and_of_a_low_pass():
    from zarr_cryoet.fidelity import half_maps

    signal = white(10)
    even, odd = signal + white(11, 1.5), signal + white(12, 1.5)
    exact = half_maps.measure(even, odd, even.copy(), odd.copy(), voxel_size=10.0)
    assert exact.half_fsc_0143_shift == 0 and exact.half_fsc_max_drop == 0
    assert exact.half_fsc_0143_nyquist == exact.original_half_fsc_0143_nyquist == 1.0  # SNR 0.44: FSC ≈ 0.31
    assert len(exact.curves["fsc_decoded_halves"]) == N // 2

    def low_pass(v):  # keep frequencies below 0.15 cycles/voxel only
        k = np.sqrt(sum(np.meshgrid(*(np.fft.fftfreq(N) ** 2,) * 3, indexing="ij")))
        return np.fft.ifftn(np.fft.fftn(v) * (k < 0.15)).real

    cut = half_maps.measure(even, odd, low_pass(even), low_pass(odd))
    assert cut.half_fsc_0143_nyquist == pytest.approx(0.3, abs=0.04)  # crossing where the pass band ends
    assert cut.half_fsc_0143_shift == pytest.approx(0.7, abs=0.04) and cut.half_fsc_max_drop > 0.25
    with pytest.raises(ValueError, match="give the same crop of both halves"):
        half_maps.measure(even, odd[:32], even, odd)

"""How much of a tomogram survives a lossy codec: the figures of the lossy question, in one place.

:func:`measure` compares a decoded volume with the original (and, on the phantom, with the
noise-free truth):

* **RMSE / σ** and the **maximum absolute error / σ** (σ: the original's standard deviation);
* **PSNR** in dB, with the original's peak-to-peak range as the peak;
* the **FSC of decoded against original**, and where it falls below 0.5 and 0.143 (fraction of
  Nyquist; Å where the voxel size is known);
* on the phantom, the **FSC against the noise-free truth** of the decoded volume and of the
  original. The original's curve is what the data holds; ``truth_fsc_max_drop`` is the largest
  loss of the decoded curve against it in any shell up to the original's 0.143 crossing;
* the **normalised cross-correlation** of decoded against original particle boxes (the
  phantom's particles, or fixed-seed random boxes on real data): the worst box and the mean.

What these figures make of a setting (lossless, keeps every voxel, below this data's noise, visible
loss) is its tier, :func:`zarr_cryoet.fidelity.tiers.tier`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from zarr_cryoet.fidelity.fsc import FSCCurve, fourier_shell_correlation
from zarr_cryoet.fidelity.tiers import Tier, tier


@dataclass(frozen=True)
class Fidelity:
    """The fidelity figures of one decoded volume (None: not measurable here, e.g. no truth)."""

    rmse_over_sigma: float
    max_abs_error: float
    max_abs_error_over_sigma: float
    psnr_db: float  # inf when lossless
    fsc_05: float  # fraction of Nyquist where FSC(decoded, original) < 0.5 (1.0: never)
    fsc_0143: float
    fsc_05_angstrom: float | None
    fsc_0143_angstrom: float | None
    truth_fsc_0143: float | None  # decoded against truth
    original_truth_fsc_0143: float | None  # original against truth
    truth_fsc_max_drop: float | None  # largest loss of FSC-vs-truth up to the original's 0.143 crossing
    particle_ncc_min: float | None
    particle_ncc_mean: float | None
    curves: dict = field(default_factory=dict, repr=False)  # frequency and FSC curves, as lists

    @property
    def tier(self) -> Tier | None:
        """What the setting keeps (:func:`zarr_cryoet.fidelity.tiers.tier`)."""
        return tier(self)

    def to_dict(self) -> dict:
        found = self.tier
        return {**asdict(self), "tier": None if found is None else str(found)}


def normalised_cross_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two boxes' voxels (1: identical up to scale and offset)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    a, b = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / denominator if denominator else (1.0 if np.array_equal(a, b) else 0.0)


def measure(original: np.ndarray, decoded: np.ndarray, *, truth: np.ndarray | None = None,
            boxes=(), voxel_size: float | None = None) -> Fidelity:
    """Every fidelity figure of ``decoded`` against ``original`` (and ``truth``, when given)."""
    if original.shape != decoded.shape:
        raise ValueError(f"decoded shape {decoded.shape} differs from the original's {original.shape}")
    x = np.asarray(original, dtype=np.float64)
    error = np.asarray(decoded, dtype=np.float64) - x
    sigma = float(x.std())
    rmse = float(np.sqrt(np.mean(error ** 2)))
    max_abs = float(np.abs(error).max())
    peak = float(x.max() - x.min())
    vs_original = fourier_shell_correlation(original, decoded, voxel_size)
    curves = {"frequency": vs_original.frequency.tolist(), "fsc_decoded_original": vs_original.fsc.tolist()}
    truth_figures = (None, None, None)
    if truth is not None:
        decoded_truth = fourier_shell_correlation(decoded, truth, voxel_size)
        original_truth = fourier_shell_correlation(original, truth, voxel_size)
        curves.update(fsc_decoded_truth=decoded_truth.fsc.tolist(), fsc_original_truth=original_truth.fsc.tolist())
        truth_figures = (decoded_truth.crossing_fraction_of_nyquist(0.143),
                         original_truth.crossing_fraction_of_nyquist(0.143),
                         max_drop(original_truth, decoded_truth))
    ncc = [normalised_cross_correlation(original[box], decoded[box]) for box in boxes]
    return Fidelity(
        rmse_over_sigma=rmse / sigma if sigma else 0.0,
        max_abs_error=max_abs,
        max_abs_error_over_sigma=max_abs / sigma if sigma else 0.0,
        psnr_db=20 * math.log10(peak / rmse) if rmse else math.inf,
        fsc_05=vs_original.crossing_fraction_of_nyquist(0.5),
        fsc_0143=vs_original.crossing_fraction_of_nyquist(0.143),
        fsc_05_angstrom=vs_original.crossing_resolution_angstrom(0.5),
        fsc_0143_angstrom=vs_original.crossing_resolution_angstrom(0.143),
        truth_fsc_0143=truth_figures[0], original_truth_fsc_0143=truth_figures[1],
        truth_fsc_max_drop=truth_figures[2],
        particle_ncc_min=min(ncc) if ncc else None,
        particle_ncc_mean=float(np.mean(ncc)) if ncc else None,
        curves=curves,
    )


def max_drop(reference: FSCCurve, candidate: FSCCurve, threshold: float = 0.143) -> float:
    """The largest ``reference - candidate`` FSC, over the shells up to where ``reference`` falls
    below ``threshold`` (beyond it neither holds signal); 0 or less where nothing was lost."""
    limit = reference.crossing(threshold)
    shells = reference.frequency <= limit
    if not shells.any():
        shells = np.zeros_like(shells)
        shells[0] = True
    return float(np.max(reference.fsc[shells] - candidate.fsc[shells]))

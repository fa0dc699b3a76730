"""Lossy safety without a truth: how much a setting lowers the FSC between two independent half maps.

Cryo-ET judges a map's resolution by the FSC between two half maps reconstructed from the even and
the odd frames (independent noise, the same signal): ``FSC = SNR / (1 + SNR)`` per shell, and the
0.143 crossing is the resolution. Any lab can compute it on its own data, so it can judge a lossy
setting without a noise-free truth: compress each half with the setting, decode, and compare the
FSC of the decoded halves with the FSC of the halves as they were. A codec that throws away signal
(or adds correlated error) moves that curve; one whose error is small and independent per half does
not.

:func:`measure` gives, for one setting:

* ``half_fsc_0143_nyquist``: where FSC(decoded even, decoded odd) falls below 0.143 (fraction of Nyquist);
* ``original_half_fsc_0143_nyquist``: the same for the halves as they were;
* ``half_fsc_0143_shift``: the original's crossing minus the decoded's (> 0: resolution lost);
* ``half_fsc_max_drop``: the largest loss of FSC, original minus decoded, in any shell up to the
  original's 0.143 crossing (:func:`zarr_cryoet.fidelity.metrics.max_drop`, as against the truth).

What these make of a setting is :func:`zarr_cryoet.fidelity.tiers.half_map_verdict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from zarr_cryoet.fidelity.fsc import fourier_shell_correlation
from zarr_cryoet.fidelity.metrics import max_drop


@dataclass(frozen=True)
class HalfMapFidelity:
    """The half-map figures of one setting (see the module's notes)."""

    half_fsc_0143_nyquist: float
    original_half_fsc_0143_nyquist: float
    half_fsc_0143_shift: float
    half_fsc_max_drop: float
    curves: dict = field(default_factory=dict, repr=False)  # frequency and both FSC curves, as lists

    def to_dict(self) -> dict:
        return asdict(self)


def measure(even: np.ndarray, odd: np.ndarray, decoded_even: np.ndarray, decoded_odd: np.ndarray,
            voxel_size: float | None = None) -> HalfMapFidelity:
    """The half-map figures of a setting that decoded ``even`` and ``odd`` to ``decoded_even`` and ``decoded_odd``."""
    if not (even.shape == odd.shape == decoded_even.shape == decoded_odd.shape):
        raise ValueError(f"the half maps and their decoded copies differ in shape: {even.shape}, {odd.shape}, "
                         f"{decoded_even.shape}, {decoded_odd.shape}; give the same crop of both halves")
    original = fourier_shell_correlation(even, odd, voxel_size)
    decoded = fourier_shell_correlation(decoded_even, decoded_odd, voxel_size)
    before, after = original.crossing_fraction_of_nyquist(0.143), decoded.crossing_fraction_of_nyquist(0.143)
    return HalfMapFidelity(
        half_fsc_0143_nyquist=after, original_half_fsc_0143_nyquist=before, half_fsc_0143_shift=before - after,
        half_fsc_max_drop=max_drop(original, decoded),
        curves={"frequency": original.frequency.tolist(), "fsc_original_halves": original.fsc.tolist(),
                "fsc_decoded_halves": decoded.fsc.tolist()})

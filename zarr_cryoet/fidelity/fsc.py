"""The Fourier shell correlation (FSC): cryo-EM's own measure of how much of a map's signal survives.

For two volumes ``a`` and ``b`` of one shape, the FSC in the shell of spatial frequencies
``k`` is the normalised cross-correlation of their Fourier coefficients in that shell::

    FSC(k) = Re Σ A(k')·B*(k') / sqrt(Σ |A(k')|² · Σ |B(k')|²),   |k'| in shell k

1 where the two agree, 0 where they share nothing. Two half-maps ``s + n₁`` and ``s + n₂``
(independent noise) give ``SNR / (1 + SNR)`` in a shell whose signal-to-noise ratio is SNR; a
map against its own noisy copy ``s`` vs ``s + n`` gives ``sqrt(SNR / (1 + SNR))``. The
frequency where the curve falls below 0.5 or 0.143 is the usual resolution figure.

Frequencies are in cycles per voxel (Nyquist = 0.5), reported as a fraction of Nyquist and,
where the voxel size is known, in 1/Å (resolution = voxel size / frequency). Shells are
``1 / min(shape)`` wide, so a non-cubic volume is sampled at its coarsest axis' spacing.
Computed with numpy's real FFT; the half-spectrum is weighted so that every coefficient of
the full spectrum counts once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NYQUIST = 0.5
#: the customary thresholds: half-bit-like 0.5, and 0.143 (gold-standard half maps)
THRESHOLDS = (0.5, 0.143)
#: shell power below this fraction of the largest shell's is round-off, not signal (1000 ulps, squared)
ROUND_OFF = (1000 * np.finfo(np.float64).eps) ** 2


@dataclass(frozen=True)
class FSCCurve:
    """An FSC curve: ``frequency`` (cycles/voxel, shell centres) and ``fsc`` per shell, shell 0 excluded."""

    frequency: np.ndarray
    fsc: np.ndarray
    voxel_size: float | None = None  # Å per voxel, if known

    @property
    def fraction_of_nyquist(self) -> np.ndarray:
        return self.frequency / NYQUIST

    def crossing(self, threshold: float) -> float:
        """The first frequency (cycles/voxel) where the curve falls below ``threshold``, interpolated
        linearly between shells; Nyquist (0.5) if it never does."""
        below = np.nonzero(self.fsc < threshold)[0]
        if below.size == 0:
            return NYQUIST
        i = int(below[0])
        if i == 0:
            return float(self.frequency[0])
        f0, f1, c0, c1 = self.frequency[i - 1], self.frequency[i], self.fsc[i - 1], self.fsc[i]
        return float(f0 + (c0 - threshold) * (f1 - f0) / (c0 - c1))

    def crossing_fraction_of_nyquist(self, threshold: float) -> float:
        return self.crossing(threshold) / NYQUIST

    def crossing_resolution_angstrom(self, threshold: float) -> float | None:
        """The resolution (Å) at the crossing, ``voxel size / frequency``; None without a voxel size."""
        if not self.voxel_size:
            return None
        return self.voxel_size / self.crossing(threshold)


def fourier_shell_correlation(a: np.ndarray, b: np.ndarray, voxel_size: float | None = None) -> FSCCurve:
    """The FSC of ``a`` against ``b`` (3-D arrays of one shape), one value per shell up to Nyquist."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"the FSC needs two 3-D volumes of one shape, got {a.shape} and {b.shape}")
    if min(a.shape) < 4:
        raise ValueError(f"volume {a.shape} is too small for an FSC; give at least 4 voxels per axis")
    fa, fb = np.fft.rfftn(a), np.fft.rfftn(b)
    nz, ny, nx = a.shape
    kz = np.fft.fftfreq(nz)[:, None, None]
    ky = np.fft.fftfreq(ny)[None, :, None]
    kx = np.fft.rfftfreq(nx)[None, None, :]
    radius = np.sqrt(kz ** 2 + ky ** 2 + kx ** 2)
    # the half spectrum holds each coefficient with 0 < kx < Nyquist once for itself and its conjugate
    weight = np.full(kx.shape, 2.0)
    weight[..., 0] = 1.0
    if nx % 2 == 0:
        weight[..., -1] = 1.0
    width = 1.0 / min(a.shape)
    n_shells = int(round(NYQUIST / width))
    shell = np.floor(radius / width + 0.5).astype(np.int64)  # shell i: |k| within ±width/2 of i·width
    inside = shell <= n_shells
    idx = shell[inside]
    w = np.broadcast_to(weight, radius.shape)[inside]
    cross = np.bincount(idx, weights=w * (fa[inside] * np.conj(fb[inside])).real, minlength=n_shells + 1)
    power_a = np.bincount(idx, weights=w * np.abs(fa[inside]) ** 2, minlength=n_shells + 1)
    power_b = np.bincount(idx, weights=w * np.abs(fb[inside]) ** 2, minlength=n_shells + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fsc = cross / np.sqrt(power_a * power_b)
    # a shell where either map has no power (or only floating-point round-off) has nothing to correlate
    floor = ROUND_OFF * max(power_a.max(), power_b.max())
    fsc = np.where((power_a > floor) & (power_b > floor), fsc, 0.0)
    shells = np.arange(n_shells + 1)
    return FSCCurve(frequency=(shells * width)[1:], fsc=fsc[1:], voxel_size=voxel_size)

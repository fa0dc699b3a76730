"""What a lossy setting keeps of the data: its tier, defined here and nowhere else.

Every table, figure and answer that judges a lossy setting (``lossy/lossy_results.csv``'s ``tier``
column, the lossy figures, ``recommend``'s lossy lines, docs/lossy.md) calls :func:`tier` on the
setting's fidelity figures (a :class:`~zarr_cryoet.fidelity.metrics.Fidelity`, or a row of the CSV).
The tiers, best first:

``lossless``
    every voxel decodes exactly (RMSE 0).
``keeps every voxel``
    the voxels change, too little for anything the data shows to change: RMSE ≤ 0.03 σ and every
    particle box's normalised cross-correlation with the original box ≥ 0.999 (:data:`VOXEL_BOUNDS`).
    Judged on any data.
``below this data's noise``
    the voxels change more, but the FSC against the noise-free truth loses at most
    :data:`FSC_DROP_LIMIT` in any shell up to the original's 0.143 crossing: what is lost hides under
    this data's noise. Only data with a known noise model has a truth (the phantom), and the verdict
    holds for that noise only: a cleaner tomogram may show the loss.
``visible loss``
    the FSC against the truth loses more than that.
``loss not judged (no truth)``
    beyond the voxel bounds, on data without a noise-free truth (a real tomogram): whether the loss
    hides under the noise cannot be judged there.

A setting whose figures are missing (skipped or failed benchmarks) has no tier: :func:`tier` returns None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum

#: "keeps every voxel": the largest RMSE (units of the original's σ) and the smallest worst particle-box NCC
VOXEL_BOUNDS = {"rmse_over_sigma": 0.03, "particle_ncc_min": 0.999}

#: "below this data's noise": the largest FSC-against-truth loss, in any shell up to the original's 0.143
#: crossing; half the statistical uncertainty of one FSC value at mid frequency in a 128³ map (docs/lossy.md)
FSC_DROP_LIMIT = 0.01


class Tier(StrEnum):
    """A lossy setting's tier; its value is its name in tables and figures."""

    LOSSLESS = "lossless"
    KEEPS_EVERY_VOXEL = "keeps every voxel"
    BELOW_NOISE = "below this data's noise"
    VISIBLE_LOSS = "visible loss"
    NOT_JUDGED = "loss not judged (no truth)"

    @property
    def rule(self) -> str:
        """What puts a setting in this tier, in a few words (for legends and notes)."""
        return _RULES[self]


_RULES = {
    Tier.LOSSLESS: "RMSE 0",
    Tier.KEEPS_EVERY_VOXEL: (f"RMSE ≤ {VOXEL_BOUNDS['rmse_over_sigma']} σ, every particle box NCC ≥ "
                             f"{VOXEL_BOUNDS['particle_ncc_min']}"),
    Tier.BELOW_NOISE: f"FSC against the noise-free truth loses ≤ {FSC_DROP_LIMIT}",
    Tier.VISIBLE_LOSS: f"FSC against the noise-free truth loses > {FSC_DROP_LIMIT}",
    Tier.NOT_JUDGED: "beyond the voxel bounds; no noise-free truth to judge the FSC",
}


def tier(record) -> Tier | None:
    """The tier of one setting's figures: ``record`` has ``rmse_over_sigma``, ``particle_ncc_min`` and
    ``truth_fsc_max_drop`` as keys or attributes (missing, empty, None or NaN: not measured)."""
    rmse, ncc, drop = (_number(record, name) for name in ("rmse_over_sigma", "particle_ncc_min",
                                                           "truth_fsc_max_drop"))
    if rmse == 0:
        return Tier.LOSSLESS
    if rmse is not None and ncc is not None and rmse <= VOXEL_BOUNDS["rmse_over_sigma"] \
            and ncc >= VOXEL_BOUNDS["particle_ncc_min"]:
        return Tier.KEEPS_EVERY_VOXEL
    if drop is not None:
        return Tier.BELOW_NOISE if drop <= FSC_DROP_LIMIT else Tier.VISIBLE_LOSS
    return Tier.NOT_JUDGED if rmse is not None or ncc is not None else None


def _number(record, name: str) -> float | None:
    value = record.get(name) if isinstance(record, Mapping) else getattr(record, name, None)
    if value is None or value == "":
        return None
    value = float(value)
    return None if math.isnan(value) else value

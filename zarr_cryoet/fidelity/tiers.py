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

**Without a truth: the half maps.** :func:`half_map_verdict` judges a setting on the FSC between two
independent half maps (:mod:`zarr_cryoet.fidelity.half_maps`), which any lab can compute on its own
data: ``safe without truth`` when compressing both halves moves their FSC's 0.143 crossing by at most
:data:`HALF_MAP_BOUNDS` ``["half_fsc_0143_shift"]`` (fraction of Nyquist, either way: a crossing that
moves up is correlated error, not signal) and lowers the FSC by at most ``["half_fsc_max_drop"]`` in any
shell up to that crossing; else ``loss shows in the half maps``. :func:`agreement` says whether that
verdict matches the truth-based tier (safe: lossless, keeps every voxel, below this data's noise).
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


#: "safe without truth": the half-map FSC's 0.143 crossing may move by at most about one shell of a 128³ map
#: (2/128 = 0.0156 of Nyquist: a smaller move keeps the crossing between the same two shells, inside the
#: curve's own sampling), and may lose at most FSC_DROP_LIMIT in any shell up to it (the same statistical
#: argument as against the truth: two curves on the same noise, so a larger difference is the codec's)
HALF_MAP_BOUNDS = {"half_fsc_0143_shift": 0.015, "half_fsc_max_drop": FSC_DROP_LIMIT}


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


class Verdict(StrEnum):
    """What the half maps alone say of a setting; its value is its name in tables."""

    SAFE = "safe without truth"
    LOSS_SHOWS = "loss shows in the half maps"

    @property
    def rule(self) -> str:
        shift, drop = HALF_MAP_BOUNDS["half_fsc_0143_shift"], HALF_MAP_BOUNDS["half_fsc_max_drop"]
        if self is Verdict.SAFE:
            return f"half-map FSC 0.143 crossing moves ≤ {shift} of Nyquist, FSC loses ≤ {drop} in any shell"
        return f"half-map FSC 0.143 crossing moves > {shift} of Nyquist, or FSC loses > {drop} in a shell"


#: the truth-based tiers that count as safe when comparing with :func:`half_map_verdict`
SAFE_TIERS = (Tier.LOSSLESS, Tier.KEEPS_EVERY_VOXEL, Tier.BELOW_NOISE)


def recommended(rows, ratio: str = "compression_ratio"):
    """The setting ``recommend`` names: the highest-``ratio`` row of the tier "keeps every voxel" (rows are
    mappings or objects with the figures :func:`tier` reads); None where no row reaches it."""
    kept = [r for r in rows if tier(r) is Tier.KEEPS_EVERY_VOXEL and _number(r, ratio) is not None]
    return max(kept, key=lambda r: _number(r, ratio)) if kept else None


def half_map_verdict(record) -> Verdict | None:
    """The truth-free verdict of one setting: ``record`` has ``half_fsc_0143_shift`` and ``half_fsc_max_drop``
    as keys or attributes (missing: None, e.g. data without half maps)."""
    shift, drop = _number(record, "half_fsc_0143_shift"), _number(record, "half_fsc_max_drop")
    if shift is None or drop is None:
        return None
    safe = abs(shift) <= HALF_MAP_BOUNDS["half_fsc_0143_shift"] and drop <= HALF_MAP_BOUNDS["half_fsc_max_drop"]
    return Verdict.SAFE if safe else Verdict.LOSS_SHOWS


def agreement(record) -> bool | None:
    """Whether the half maps' verdict matches the truth-based tier (safe or not); None where either is missing."""
    found, verdict = tier(record), half_map_verdict(record)
    if found in (None, Tier.NOT_JUDGED) or verdict is None:
        return None
    return (found in SAFE_TIERS) == (verdict is Verdict.SAFE)


def _number(record, name: str) -> float | None:
    value = record.get(name) if isinstance(record, Mapping) else getattr(record, name, None)
    if value is None or value == "":
        return None
    value = float(value)
    return None if math.isnan(value) else value

"""Lossy safety without truth, for ``recommend``: what the half maps say of each lossy setting.

:func:`half_map_line` is one line for ``recommend``'s notes: the settings safe by the half-map FSC alone
(:func:`zarr_cryoet.fidelity.tiers.half_map_verdict`, which any lab can compute on its even/odd half
tomograms) and, where the data has a noise-free truth (the phantom), how often that verdict agrees with the
truth-based tier. :func:`agreement_table` is the same per setting, as a Markdown table. Both read the
lossy benchmarks' results (format 2, 64³ chunks) through :func:`zarr_cryoet.report.lossy.lossy_rows`.
"""

from __future__ import annotations

from zarr_cryoet.asv.results import ReportResults
from zarr_cryoet.fidelity.tiers import HALF_MAP_BOUNDS, Verdict
from zarr_cryoet.report.lossy import agreement_rows, lossy_rows, number
from zarr_cryoet.util import markdown


def _rows(results: ReportResults, env, data: str) -> list[dict]:
    """The lossy rows of ``env`` and ``data`` on format 2 that have a half-map verdict."""
    return [r for r in lossy_rows(results) if r["zarr_version"] == env.zarr_version and r["data"] == data
            and int(r["zarr_format"]) == 2 and r["half_map_verdict"]]


def half_map_line(results: ReportResults, env, data: str) -> str:
    """One line: the lossy settings safe by the half maps alone (highest ratio first) and those whose loss shows
    there, and on data with a truth the agreement with the truth-based tiers; empty without half-map results."""
    rows = _rows(results, env, data)
    if not rows:
        return ""
    safe = sorted((r for r in rows if r["half_map_verdict"] == Verdict.SAFE and r["lossy"]),
                  key=lambda r: -r["compression_ratio"])
    shows = [r["codec"] for r in sorted(rows, key=lambda r: -r["compression_ratio"])
             if r["half_map_verdict"] == Verdict.LOSS_SHOWS]
    line = (f"Lossy without a truth (the FSC between two compressed half maps, {Verdict.SAFE.rule}): "
            + (f"most compression **{safe[0]['codec']}** ({safe[0]['compression_ratio']:.2f}×)" if safe
               else "no lossy setting is safe")
            + (f"; loss shows in the half maps for {', '.join(shows)}" if shows else ""))
    judged = agreement_rows(rows)
    if judged:
        agree = sum(r["agrees_with_tier"] == "yes" for r in judged)
        line += f"; agrees with the truth-based tier on {agree} of {len(judged)} settings"
    return line + f"; zarr {env.zarr_version}, {data}."


def agreement_table(results: ReportResults, env, data: str) -> list[str]:
    """Markdown lines: per setting (highest ratio first), its ratio, truth-based tier, the half maps' 0.143 shift
    and largest FSC drop, the truth-free verdict and whether the two agree; empty without half-map results."""
    rows = sorted(_rows(results, env, data), key=lambda r: -r["compression_ratio"])
    if not rows:
        return []
    header = ["setting", "ratio", "truth-based tier", "half-map 0.143 shift (of Nyquist)",
              f"half-map largest FSC drop (limit {HALF_MAP_BOUNDS['half_fsc_max_drop']})", "truth-free verdict",
              "agree?"]
    return markdown.table(header, ([r["codec"], f"{r['compression_ratio']:.2f}", r["tier"] or "–",
                                    _figure(r["half_fsc_0143_shift"], "+.1e"), _figure(r["half_fsc_max_drop"], ".1e"),
                                    r["half_map_verdict"], r["agrees_with_tier"] or "–"] for r in rows))


def _figure(value, spec: str) -> str:
    found = number(value)
    return "–" if found is None else format(found, spec)

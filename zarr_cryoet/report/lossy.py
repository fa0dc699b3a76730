"""The lossy question's table and ratio/fidelity figure: what each codec saves, and what it keeps of the data.

* ``lossy/lossy_results.csv``: per zarr release × data × codec × zarr format, the compression
  ratio and stored MB (from the files), write and full-read time (ms, where timed), and every
  fidelity figure (:mod:`zarr_cryoet.fidelity.metrics`), with the FSC crossings also in Å where
  the voxel size is recorded, and ``tier``: what the setting keeps (:mod:`zarr_cryoet.fidelity.tiers`:
  lossless, keeps every voxel, below this data's noise, visible loss, or loss not judged where the
  data has no noise-free truth; empty where its figures are missing); the half-map figures
  (:mod:`zarr_cryoet.fidelity.half_maps`: the FSC between the two compressed half maps against the
  halves as they were), ``half_map_verdict`` (:func:`~zarr_cryoet.fidelity.tiers.half_map_verdict`, judged
  without a truth) and ``agrees_with_tier`` (whether it matches the tier: :func:`agreement_rows` is the
  table of the two).
* ``lossy/lossy_pareto.png``: compression ratio against the FSC-0.143 crossing against the truth,
  the largest loss of FSC against the truth and RMSE/σ, with each tier's limit drawn; one colour per
  codec family, one marker per tier, the Pareto front drawn and labelled (labels of points at almost one
  height, as on the crossing panel where every setting keeps ~0.611, stacked below them).

The figures that recompute decoded volumes (the slices and the FSC curves) are in
:mod:`zarr_cryoet.report.lossy_images`. Every cell a partial run left out (skipped or failed) is
empty in the CSV and not drawn.
"""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.colors import to_hex, to_rgb
from matplotlib.lines import Line2D

from zarr_cryoet.data import provenance
from zarr_cryoet.fidelity.fsc import NYQUIST
from zarr_cryoet.fidelity.tiers import FSC_DROP_LIMIT, VOXEL_BOUNDS, Tier, agreement, half_map_verdict, tier
from zarr_cryoet.asv.families import LOSSY
from zarr_cryoet.asv.results import ReportResults, finite
from zarr_cryoet.report.style import add_run_label, label_axis, new_figure
from zarr_cryoet.report.tables import _cell
from zarr_cryoet.store.codecs import get_codec

LOSSY_CSV = Path("lossy", "lossy_results.csv")
PARETO_PNG = Path("lossy", "lossy_pareto.png")
SLICES_PNG = Path("lossy", "lossy_slices.png")
FSC_PNG = Path("lossy", "lossy_fsc.png")
LOSSY_CHUNKS = (64, 64, 64)  # benchmarks/lossy.py's layout
LOSSY_CORES = "one core"  # benchmarks/lossy.py runs pinned to asv's --cpu-affinity

#: one colour per codec family, in every lossy figure (a family's settings: shades of it, :func:`shades`)
FAMILY_COLOURS = {"lossless": "#000000", "bitround": "#1f77b4", "quantize": "#ff7f0e", "scaleoffset": "#2ca02c",
                  "float16": "#9467bd", "zfp-accuracy": "#d62728", "zfp-rate": "#8c564b"}
#: one marker and one line style per tier, in every lossy figure
TIER_MARKERS = {Tier.LOSSLESS: "s", Tier.KEEPS_EVERY_VOXEL: "o", Tier.BELOW_NOISE: "D", Tier.VISIBLE_LOSS: "X",
                Tier.NOT_JUDGED: "^"}
TIER_LINESTYLES = {Tier.LOSSLESS: "-", Tier.KEEPS_EVERY_VOXEL: "-", Tier.BELOW_NOISE: "--", Tier.VISIBLE_LOSS: ":",
                   Tier.NOT_JUDGED: "-."}
NOT_MEASURED = "P"  # the marker of a setting without a tier (its fidelity figures are missing)


def family(codec: str) -> str:
    """``"bitround-4"`` -> ``"bitround"``; every lossless codec -> ``"lossless"``."""
    if not get_codec(codec).lossy:
        return "lossless"
    return next(name for name in FAMILY_COLOURS if codec.startswith(name))


def shades(colour: str, n: int) -> list[str]:
    """``n`` shades of ``colour``, dark to light (the family's own colour in the middle)."""
    if n == 1:
        return [to_hex(colour)]
    rgb = to_rgb(colour)
    out = []
    for i in range(n):
        t = -0.3 + 0.7 * i / (n - 1)  # < 0: towards black, > 0: towards white
        out.append(to_hex(tuple(c * (1 + t) if t < 0 else c + (1 - c) * t for c in rgb)))
    return out


def number(value) -> float | None:
    """A row's cell as a number; None where it is empty (skipped or failed)."""
    return None if value == "" or not finite(value) else float(value)


def tier_marker(row: dict) -> str:
    return TIER_MARKERS.get(row.get("tier"), NOT_MEASURED)


def _angstrom(fraction, voxel_size):
    """Resolution (Å) at a crossing given as a fraction of Nyquist."""
    return voxel_size / (fraction * NYQUIST) if finite(fraction) and fraction and voxel_size else ""


def lossy_rows(results: ReportResults) -> list[dict]:
    """One row per zarr release × data × codec × format with a compression ratio."""
    rows = []
    for data in results.choices(LOSSY.module, "data"):
        voxel_size = provenance.voxel_size_angstrom(results.provenance(data))
        for env in results.envs:
            for codec in results.choices(LOSSY.module, "codec"):
                for fmt in results.choices(LOSSY.module, "zarr_format"):
                    cell = {"data": data, "codec": codec, "zarr_format": fmt}
                    ratio = results.value(env, LOSSY.ratio, **cell)
                    if not finite(ratio):
                        continue
                    figures = {name: results.value(env, bench, **cell) for name, bench in LOSSY.fidelity.items()}
                    rows.append({
                        "codec": codec, "label": get_codec(codec).label, "family": family(codec),
                        "lossy": get_codec(codec).lossy, "zarr_format": fmt, "compression_ratio": ratio,
                        "stored_mb": _cell(results.value(env, LOSSY.stored_bytes, **cell), 1e-6),
                        "write_ms": _cell(results.value(env, LOSSY.write, **cell), 1000),
                        "read_ms": _cell(results.value(env, LOSSY.full_read, **cell), 1000),
                        **{name: _cell(value) for name, value in figures.items()},
                        "fsc_05_angstrom": _angstrom(figures["fsc_05_nyquist"], voxel_size),
                        "fsc_0143_angstrom": _angstrom(figures["fsc_0143_nyquist"], voxel_size),
                        "truth_fsc_0143_angstrom": _angstrom(figures["truth_fsc_0143_nyquist"], voxel_size),
                        "tier": tier(figures) or "",
                        "half_map_verdict": half_map_verdict(figures) or "",
                        "agrees_with_tier": _yes_no(agreement(figures)),
                        **results.context(env, data)})
    return rows


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def agreement_rows(rows: list[dict]) -> list[dict]:
    """The truth-free verdicts against the truth-based tiers: per setting of ``rows`` (e.g. :func:`figure_rows`)
    with both, its ratio, tier, half-map 0.143 shift and largest drop, verdict and whether the two agree."""
    return [{"codec": r["codec"], "compression_ratio": r["compression_ratio"], "tier": r["tier"],
             "half_fsc_0143_shift": r["half_fsc_0143_shift"], "half_fsc_max_drop": r["half_fsc_max_drop"],
             "half_map_verdict": r["half_map_verdict"], "agrees_with_tier": r["agrees_with_tier"]}
            for r in rows if r["agrees_with_tier"]]


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both axes (higher is better on both), by increasing x."""
    front, best = [], -math.inf
    for x, y in sorted(points, key=lambda p: (-p[0], -p[1])):
        if y > best:
            front.append((x, y))
            best = y
    return sorted(front)


def figure_rows(results: ReportResults) -> list[dict]:
    """The rows the figures show: format 2, the newest zarr release with lossy results, its first data."""
    rows = [r for r in lossy_rows(results) if int(r["zarr_format"]) == 2]
    for env in reversed(results.envs):
        here = [r for r in rows if r["zarr_version"] == env.zarr_version]
        if here:
            return [r for r in here if r["data"] == here[0]["data"]]
    return []


def run_label(results: ReportResults, rows: list[dict]) -> str:
    """The footer of every lossy figure: the data, one core, the zarr release shown, commit and machine."""
    if not rows:
        return results.run_label(cores=LOSSY_CORES)
    return results.run_label(rows[0]["data"], cores=LOSSY_CORES, zarr=rows[0]["zarr_version"])


def tier_handles(tiers, wrap: bool = False, **line) -> list[Line2D]:
    """Legend entries of ``tiers``: a grey marker each, with the tier's rule (on its own line with ``wrap``)."""
    return [Line2D([], [], ls="none", marker=TIER_MARKERS[t], color="#555555",
                   label=f"{t}:{chr(10) if wrap else ' '}{t.rule}", **line) for t in tiers]


#: labelled points whose heights span less than this fraction of the axis are labelled in a stack below them
FLAT = 0.05
#: the stacked labels' spacing (points)
STACK_STEP = 14


def label_points(ax, texts, xs, ys) -> None:
    """Move ``texts`` apart and off the points at (``xs``, ``ys``), each joined to its point by a line; labels of
    points at almost one height (:data:`FLAT`) go in a staircase below them instead (adjustText leaves those
    on top of one another)."""
    if not texts:
        return
    if _flat(ax, texts):
        _stack_below(ax, texts)
        return
    from adjustText import adjust_text

    adjust_text(texts, x=xs, y=ys, ax=ax, expand=(1.2, 1.4), arrowprops={"arrowstyle": "-", "color": "#888888",
                                                                        "lw": 0.6})


def _flat(ax, texts) -> bool:
    if len(texts) < 2 or ax.get_yscale() != "linear":
        return False
    heights = [t.get_position()[1] for t in texts]
    low, high = ax.get_ylim()
    return (max(heights) - min(heights)) < FLAT * abs(high - low)


def _stack_below(ax, texts) -> None:
    """Each label under its point, one step lower per label by increasing x, joined to it by a line."""
    for k, text in enumerate(sorted(texts, key=lambda t: t.get_position()[0])):
        x, y = text.get_position()
        below = (0, -STACK_STEP * (k + 2))
        ax.annotate(text.get_text(), (x, y), xytext=below, textcoords="offset points", ha="center", va="top",
                    fontsize=text.get_fontsize())
        ax.annotate("", (x, y), xytext=below, textcoords="offset points",  # the line alone: no box over other labels
                    arrowprops={"arrowstyle": "-", "color": "#888888", "lw": 0.6, "shrinkA": 0, "shrinkB": 3})
        text.remove()


def build_pareto_figure(results: ReportResults):
    """Ratio (log x) against three fidelity figures, each tier's limit drawn; format 2, the newest release.

    The first panel is the FSC-0.143 crossing against the noise-free truth where there is one (the
    phantom), with the original's crossing as a line, on an axis from 0; on real data the FSC against the
    original. The second is the largest FSC loss against the truth (real data: the worst particle box's
    NCC), the third RMSE/σ (lossless codecs, RMSE 0, are left out of that log axis)."""
    rows = figure_rows(results)
    truth = any(number(r["truth_fsc_0143_nyquist"]) is not None for r in rows)
    fsc_column = "truth_fsc_0143_nyquist" if truth else "fsc_0143_nyquist"
    panels = [(fsc_column, "FSC(decoded, " + ("noise-free truth" if truth else "original") + ") falls below "
               "0.143 at\n(fraction of Nyquist; axis from 0 to 1" + ("" if truth else ", 1 = never") + ")", False),
              ("truth_fsc_max_drop", "largest loss of FSC against the truth\n(correlation, any shell)", True),
              ("rmse_over_sigma", "RMSE of the decoded voxels\n(units of the original's σ, log)", True)]
    if not truth:
        panels[1] = ("particle_ncc_min", "worst particle box against the original\n(NCC)", False)
    data = rows[0]["data"] if rows else "no lossy results"
    zarr = rows[0]["zarr_version"] if rows else results.newest.zarr_version
    fig, axes = new_figure(1, 3, figsize=(17, 5.6), squeeze=False,
                           title=f"Lossy codecs on zarr {zarr}, 64³ chunks, format 2 ({data}): ratio against "
                                 "fidelity (Pareto front dashed and labelled)")
    tiers, labelled = set(), []
    for ax, (column, ylabel, lower_better) in zip(axes[0], panels):
        drawn = [r for r in rows if number(r[column]) is not None
                 and (column != "rmse_over_sigma" or r[column] > 0)]  # a log axis: RMSE 0 is not drawn
        tiers.update(r["tier"] for r in drawn)
        for name, marker in dict.fromkeys((r["family"], tier_marker(r)) for r in drawn):
            here = [r for r in drawn if (r["family"], tier_marker(r)) == (name, marker)]
            ax.scatter([r["compression_ratio"] for r in here], [r[column] for r in here], label=name, marker=marker,
                       color=FAMILY_COLOURS[name], s=46, zorder=3, edgecolors="white", linewidths=0.5)
        sign = -1 if lower_better else 1
        front = pareto_front([(r["compression_ratio"], sign * r[column]) for r in drawn])
        if len(front) > 1:
            ax.plot([x for x, _ in front], [sign * y for _, y in front], color="#999999", lw=1, ls="--", zorder=2)
        on_front = set(front)
        texts = [ax.text(r["compression_ratio"], r[column], r["codec"], fontsize=7.5)
                 for r in drawn if (r["compression_ratio"], sign * r[column]) in on_front]
        labelled.append((ax, texts, [r["compression_ratio"] for r in drawn], [r[column] for r in drawn]))
        _limits(ax, column, drawn)
        if not drawn:
            ax.text(0.5, 0.5, "not measured in this run", transform=ax.transAxes, ha="center", color="#555555")
        ax.set_xscale("log")
        ticks = [t for t in (1, 2, 4, 8, 16, 32, 64) if t <= max([r["compression_ratio"] for r in drawn] or [1]) * 1.5]
        ax.set_xticks(ticks, [str(t) for t in ticks])
        label_axis(ax, x="compression ratio (×, log)", y=ylabel)
    _legends(fig, rows, tiers, truth)
    add_run_label(fig, run_label(results, rows))
    fig.canvas.draw()  # place the axes, then move the labels apart
    for ax, texts, xs, ys in labelled:
        label_points(ax, texts, xs, ys)
    return fig


def _legends(fig, rows: list[dict], tiers: set, truth: bool) -> None:
    """Right of the panels: the families' colours above, the tiers' markers and the lines below."""
    families = [Line2D([], [], ls="none", marker="o", color=colour, label=name) for name, colour
                in FAMILY_COLOURS.items() if any(r["family"] == name for r in rows)]
    fig.legend(handles=families, title="codec family (colour)", loc="outside right upper", fontsize=8)
    lines = tier_handles([t for t in Tier if t in tiers], markersize=6, wrap=True)
    if "" in tiers:
        lines.append(Line2D([], [], ls="none", marker=NOT_MEASURED, color="#555555", label="tier not measured"))
    lines += [Line2D([], [], color="#999999", ls="--", label="Pareto front"),
              Line2D([], [], color="#d62728", ls=":", label="tier limit")]
    if truth:
        lines.append(Line2D([], [], color="#000000", ls=":", label="the original's crossing"))
    fig.legend(handles=lines, title="tier (marker)", loc="outside right lower", fontsize=8)


def _limits(ax, column: str, drawn: list[dict]) -> None:
    """Each panel's reference: the original's crossing, the tiers' limits; its y range."""
    if column == "truth_fsc_0143_nyquist":
        original = next((r[column] for r in drawn if r["tier"] == Tier.LOSSLESS), None)
        if original is not None:
            ax.axhline(original, color="#000000", lw=1, ls=":")
        ax.set_ylim(0, 1)
    elif column == "fsc_0143_nyquist":
        ax.set_ylim(0, 1.05)
    elif column == "truth_fsc_max_drop":
        ax.axhline(FSC_DROP_LIMIT, color="#d62728", lw=1, ls=":")
        ax.set_yscale("symlog", linthresh=1e-5)
        ax.set_ylim(bottom=0)
    elif column == "particle_ncc_min":
        ax.axhline(VOXEL_BOUNDS["particle_ncc_min"], color="#d62728", lw=1, ls=":")
    elif column == "rmse_over_sigma":
        ax.axhline(VOXEL_BOUNDS["rmse_over_sigma"], color="#d62728", lw=1, ls=":")
        ax.set_yscale("log")

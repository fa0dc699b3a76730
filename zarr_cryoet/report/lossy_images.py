"""The lossy figures that decode the data again: slices and FSC curves, per tier.

* ``lossy/lossy_slices.png``: the middle XY slice of the original and of the phantom's noise-free
  truth, next to each tier's highest-ratio setting (:mod:`zarr_cryoet.fidelity.tiers`) decoded, with
  its error in units of σ below it (plus the ``--slice-codec`` setting, when it is another one), a
  scale bar in nm;
* ``lossy/lossy_fsc.png``: the FSC curves of the settings on the ratio/fidelity Pareto front and of the
  setting ``recommend`` names (:func:`~zarr_cryoet.fidelity.tiers.recommended`; drawn thick and labelled
  so in the legend and on the curves), against the original and against the truth; one shade of the
  family's colour per setting, one line style per tier, the 0.5 and 0.143 thresholds labelled.

Both recompute the decoded volume here with numcodecs (:func:`~zarr_cryoet.store.lossy_codecs.roundtrip`,
which the benchmarks check every zarr read against), so they need the data: the phantom, or the
source ``$ZARR_CRYOET_SOURCE`` names when it is the data of the results.
"""

from __future__ import annotations

import numpy as np

from zarr_cryoet.data import provenance
from zarr_cryoet.fidelity.tiers import FSC_DROP_LIMIT, Tier, recommended
from zarr_cryoet.report.lossy import (FAMILY_COLOURS, LOSSY_CHUNKS, TIER_LINESTYLES, figure_rows, number,
                                      pareto_front, run_label, shades)
from zarr_cryoet.asv.results import ReportResults
from zarr_cryoet.report.style import add_run_label, label_axis, new_figure, scale_bar
from zarr_cryoet.store.codecs import get_codec

#: the error panels' colour scale reaches at most this many σ (larger errors are clipped)
ERROR_SCALE_SIGMA = 3.0


def load_volume(results: ReportResults, data):
    """The volume of the results' ``data``, loaded again with its truth (the phantom; or the source
    ``$ZARR_CRYOET_SOURCE`` names when it is that data), or None."""
    from zarr_cryoet.data import sources

    request = sources.SourceRequest.from_env()
    recorded = results.provenance(data) or {}
    if request.identity() != data and str(recorded.get("source", "")).startswith("phantom"):
        request = sources.SourceRequest.parse(recorded["source"])
    if request.identity() != data:
        return None
    return sources.load(request, truth=True)


def best_of_each_tier(rows: list[dict]) -> list[dict]:
    """The highest-ratio lossy setting of each tier the rows reach, best tier first."""
    lossy = [r for r in rows if r["lossy"] and r["tier"] not in ("", Tier.LOSSLESS)]
    return [max(here, key=lambda r: r["compression_ratio"]) for t in Tier
            if (here := [r for r in lossy if r["tier"] == t])]


def slice_settings(rows: list[dict], codec: str | None = None) -> list[dict]:
    """The settings of the slice figure: each tier's best, and ``codec`` (known or not to the rows) after them."""
    shown = best_of_each_tier(rows)
    if codec and codec not in {r["codec"] for r in shown}:
        found = next((r for r in rows if r["codec"] == codec), None)
        shown.append(found or {"codec": codec, "compression_ratio": "", "tier": "", "rmse_over_sigma": "",
                               "particle_ncc_min": ""})
    return shown


def build_slice_figure(results: ReportResults, codec: str | None = None, loaded=None):
    """The middle XY slice: original and noise-free truth, then each tier's best setting decoded (top) and its
    error (bottom), and ``codec`` when given; None when no setting has a tier or the data cannot be loaded."""
    from zarr_cryoet.store.lossy_codecs import roundtrip

    if codec:
        get_codec(codec)  # an unknown name fails in one line
    rows = figure_rows(results)
    shown = slice_settings(rows, codec)
    if not shown:
        return None
    loaded = loaded or load_volume(results, rows[0]["data"] if rows else None)
    if loaded is None:
        return None
    volume = loaded.volume
    z = volume.shape[0] // 2
    original = volume[z].astype(np.float64)
    sigma = float(volume.std(dtype=np.float64)) or 1.0
    errors = [(roundtrip(volume, get_codec(r["codec"]), LOSSY_CHUNKS)[z] - original) for r in shown]
    decoded = [original + e for e in errors]
    limit = min(max(max(float(np.abs(e).max()) for e in errors) / sigma, 1e-3), ERROR_SCALE_SIGMA)
    data = rows[0]["data"] if rows else "the data"
    fig, axes = new_figure(2, len(shown) + 1, figsize=(3.7 * (len(shown) + 1) + 0.8, 8.2), squeeze=False,
                           title=f"Middle XY slice (z = {z}) of {data}: each tier's highest-ratio setting, decoded "
                                 "(top) and its error (bottom)")
    lo, hi = np.percentile(original, (0.5, 99.5))
    images = [(axes[0][0], original, "original")]
    if loaded.truth is not None:
        images.append((axes[1][0], loaded.truth[z], "noise-free truth"))
    best = {r["codec"] for r in best_of_each_tier(rows)}
    for ax, r, image in zip(axes[0][1:], shown, decoded):
        ratio = number(r["compression_ratio"])
        images.append((ax, image, f"{r['tier'] or 'tier not measured'}\n{r['codec']}"
                                  + (f", {ratio:.1f}×" if ratio is not None else "")
                                  + ("" if r["codec"] in best else " (chosen)")))
    for ax, image, title in images:
        ax.imshow(image, vmin=lo, vmax=hi, cmap="gray")
        ax.set_title(title, fontsize=11)
    for ax, r, error in zip(axes[1][1:], shown, errors):
        shown_error = ax.imshow(error / sigma, vmin=-limit, vmax=limit, cmap="RdBu_r")
        rmse, ncc = number(r["rmse_over_sigma"]), number(r["particle_ncc_min"])
        ax.set_title("error: " + ", ".join(text for text in (
            f"RMSE {rmse:.2g} σ" if rmse is not None else "",
            f"worst box NCC {ncc:.4f}" if ncc is not None else "") if text), fontsize=10)
    for ax in axes.flat:
        ax.set_axis_off()
    fig.colorbar(shown_error, ax=axes[1].tolist(), fraction=0.025, extend="both" if limit >= ERROR_SCALE_SIGMA
                 else "neither", label="decoded − original (units of σ)")
    scale_bar(axes[0][0], provenance.voxel_size_angstrom(loaded.provenance), original.shape)
    return add_run_label(fig, run_label(results, rows))


def build_fsc_figure(results: ReportResults, loaded=None):
    """FSC curves of the settings on the ratio/fidelity Pareto front: against the original and, on the
    phantom, against the noise-free truth (next to the original's own) with the loss per shell that decides
    the tier "below this data's noise"; None when no setting has the figure the front needs or the data
    cannot be loaded."""
    from zarr_cryoet.fidelity.fsc import fourier_shell_correlation
    from zarr_cryoet.store.lossy_codecs import roundtrip

    rows = [r for r in figure_rows(results) if r["lossy"]]
    if not rows:
        return None
    loaded = loaded or load_volume(results, rows[0]["data"])
    if loaded is None:
        return None
    column = "truth_fsc_max_drop" if loaded.truth is not None else "rmse_over_sigma"
    measured = [r for r in rows if number(r[column]) is not None]
    front = set(pareto_front([(r["compression_ratio"], -r[column]) for r in measured]))
    named = recommended(measured)
    chosen = sorted((r for r in measured if (r["compression_ratio"], -r[column]) in front or r is named),
                    key=lambda r: r["compression_ratio"])
    if not chosen:
        return None
    colours = {}
    for name in dict.fromkeys(r["family"] for r in chosen):
        here = [r for r in chosen if r["family"] == name]
        colours.update(zip((r["codec"] for r in here), shades(FAMILY_COLOURS[name], len(here))))
    truth = loaded.truth
    panels = 1 if truth is None else 3
    fig, axes = new_figure(1, panels, figsize=(5.6 * panels + 3.4, 5.2), squeeze=False,
                           title=f"FSC curves of the settings on the Pareto front ({rows[0]['data']}, 64³ chunks)")
    axes = axes[0]
    volume = loaded.volume
    reference = fourier_shell_correlation(volume, truth) if truth is not None else None
    for r in chosen:
        decoded = roundtrip(volume, get_codec(r["codec"]), LOSSY_CHUNKS)
        style = {"color": colours[r["codec"]], "lw": 1.4, "ls": TIER_LINESTYLES.get(r["tier"], "-"),
                 "label": f"{r['codec']} ({r['compression_ratio']:.1f}×; {r['tier'] or 'tier not measured'})"}
        if r is named:  # the setting recommend names: thick, on top, and said so
            style.update(lw=3.2, zorder=4, label=f"{style['label']}\n— recommend's setting ({RECOMMENDED})")
        curve = fourier_shell_correlation(volume, decoded)
        lines = [(axes[0], curve.fraction_of_nyquist, curve.fsc)]
        if reference is not None:
            curve = fourier_shell_correlation(decoded, truth)
            shells = reference.frequency <= reference.crossing(0.143)
            lines += [(axes[1], curve.fraction_of_nyquist, curve.fsc),
                      (axes[2], curve.fraction_of_nyquist[shells], (reference.fsc - curve.fsc)[shells])]
        for ax, x, y in lines:
            ax.plot(x, y, **style)
        if r is named:
            _name_curve(lines[-1], r["codec"], colours[r["codec"]])
    axes[0].set_title("decoded against the original")
    for ax in axes[:2]:
        for threshold in (0.5, 0.143):
            ax.axhline(threshold, color="#999999", lw=0.8, ls=":")
            ax.text(0.01, threshold + 0.01, f"FSC = {threshold}", transform=ax.get_yaxis_transform(), fontsize=8,
                    color="#555555", va="bottom")
        ax.set_ylim(-0.05, 1.02)
        label_axis(ax, x="spatial frequency (fraction of Nyquist)", y="FSC (correlation)")
    if reference is not None:
        axes[1].plot(reference.fraction_of_nyquist, reference.fsc, color="#000000", lw=2.5, alpha=0.35,
                     label="the original against the truth", zorder=1)
        axes[1].set_title("decoded against the noise-free truth")
        _loss_panel(axes[2])
    fig.legend(handles=axes[min(1, panels - 1)].get_legend_handles_labels()[0], loc="outside right upper",
               fontsize=8, title="setting (ratio; tier)")
    return add_run_label(fig, run_label(results, rows))


#: how the FSC figure names the setting ``recommend`` names
RECOMMENDED = "the most compression that keeps every voxel"


def _name_curve(line, codec: str, colour: str) -> None:
    """``recommend: CODEC`` next to the curve's last point in the last panel, pointing at it."""
    ax, x, y = line
    ax.annotate(f"recommend: {codec}", (x[-1], y[-1]), xytext=(-20, 45), textcoords="offset points", ha="right",
                fontsize=8.5, fontweight="bold", color=colour,
                arrowprops={"arrowstyle": "->", "color": colour, "lw": 0.9})


def _loss_panel(ax) -> None:
    """The FSC lost against the truth per shell, up to the original's 0.143 crossing, with the tier's limit."""
    ax.axhline(FSC_DROP_LIMIT, color="#d62728", lw=1, ls=":")
    ax.text(0.01, FSC_DROP_LIMIT, f"limit of \"{Tier.BELOW_NOISE}\": {FSC_DROP_LIMIT}",
            transform=ax.get_yaxis_transform(), fontsize=8, color="#d62728", va="bottom")
    ax.axhline(0, color="#999999", lw=0.8)
    ax.set_title("FSC lost against the truth, per shell")
    label_axis(ax, x="spatial frequency (fraction of Nyquist; up to the\noriginal's 0.143 crossing)",
               y="the original's FSC − the decoded's\n(correlation)")

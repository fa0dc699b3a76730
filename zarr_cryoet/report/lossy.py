"""The lossy question's table and figures: what each codec saves, and what it keeps of the data.

* ``lossy/lossy_results.csv``: per zarr release × data × codec × zarr format, the compression
  ratio and stored MB (from the files), write and full-read time (ms, where timed), and every
  fidelity figure (:mod:`zarr_cryoet.fidelity.metrics`), with the FSC crossings also in Å where
  the voxel size is recorded, and ``harmless``: the FSC against the phantom's noise-free truth
  lost at most :data:`~zarr_cryoet.fidelity.metrics.HARMLESS_DROP` in any shell.
* ``lossy/lossy_pareto.png``: compression ratio against the FSC-0.143 frequency (decoded vs
  original), the largest loss of FSC against the truth, and PSNR; one colour per codec family,
  the lossless codecs as reference points, the Pareto front drawn.
* ``lossy/lossy_slices.png``: the middle XY slice of the original (and of the phantom's noise-free
  truth), the decoded volume and their difference, for one codec (``--slice-codec``; default: the
  highest-ratio harmless one), with a scale bar in nm;
* ``lossy/lossy_fsc.png``: the FSC curves of the codecs on the Pareto front, against the original
  and against the truth.

The last two recompute the decoded volume here with numcodecs
(:func:`~zarr_cryoet.store.lossy_codecs.roundtrip`, which the benchmarks check every zarr read
against), so they need the data: the phantom, or the source ``$ZARR_CRYOET_SOURCE`` names when
it is the data of the results.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from zarr_cryoet.data import provenance
from zarr_cryoet.fidelity.fsc import NYQUIST
from zarr_cryoet.fidelity.metrics import HARMLESS_DROP
from zarr_cryoet.report.families import LOSSY
from zarr_cryoet.report.results import ReportError, ReportResults, finite
from zarr_cryoet.report.style import label_axis, new_figure, scale_bar
from zarr_cryoet.report.tables import _cell
from zarr_cryoet.store.codecs import get_codec

LOSSY_CSV = Path("lossy", "lossy_results.csv")
PARETO_PNG = Path("lossy", "lossy_pareto.png")
SLICES_PNG = Path("lossy", "lossy_slices.png")
FSC_PNG = Path("lossy", "lossy_fsc.png")
LOSSY_CHUNKS = (64, 64, 64)  # benchmarks/lossy.py's layout

#: one colour per codec family, in every lossy figure
FAMILY_COLOURS = {"lossless": "#000000", "bitround": "#1f77b4", "quantize": "#ff7f0e", "scaleoffset": "#2ca02c",
                  "float16": "#9467bd", "zfp-accuracy": "#d62728", "zfp-rate": "#8c564b"}


def family(codec: str) -> str:
    """``"bitround-4"`` -> ``"bitround"``; every lossless codec -> ``"lossless"``."""
    if not get_codec(codec).lossy:
        return "lossless"
    return next(name for name in FAMILY_COLOURS if codec.startswith(name))


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
                    drop = figures["truth_fsc_max_drop"]
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
                        "harmless": (drop <= HARMLESS_DROP) if finite(drop) else "",
                        **results.context(env, data)})
    return rows


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both axes (higher is better on both), by increasing x."""
    front, best = [], -math.inf
    for x, y in sorted(points, key=lambda p: (-p[0], -p[1])):
        if y > best:
            front.append((x, y))
            best = y
    return sorted(front)


def _figure_rows(results: ReportResults) -> list[dict]:
    rows = [r for r in lossy_rows(results) if r["zarr_version"] == results.newest.zarr_version
            and int(r["zarr_format"]) == 2]
    data = rows[0]["data"] if rows else None
    return [r for r in rows if r["data"] == data]


def build_pareto_figure(results: ReportResults):
    """Ratio (log x) against three fidelity figures, newest zarr release, format 2.

    The FSC-0.143 panel uses the FSC against the noise-free truth where there is one (the phantom),
    with the original's crossing as a line; on real data the FSC against the original."""
    rows = _figure_rows(results)
    truth = any(finite(r["truth_fsc_0143_nyquist"]) for r in rows if r["truth_fsc_0143_nyquist"] != "")
    fsc_column = "truth_fsc_0143_nyquist" if truth else "fsc_0143_nyquist"
    panels = [(fsc_column, ("FSC(decoded, noise-free truth) = 0.143\n" if truth else
                            "FSC(decoded, original) = 0.143; 1 = never\n") + "(fraction of Nyquist)", False),
              ("truth_fsc_max_drop", f"largest loss of FSC against the truth\n(harmless ≤ {HARMLESS_DROP})", True),
              ("psnr", "PSNR (dB; lossless: infinite, not drawn)", False)]
    if not truth:
        panels[1] = ("particle_ncc_min", "worst particle box against the original (NCC)", False)
    data = rows[0]["data"] if rows else ""
    fig, axes = new_figure(1, 3, figsize=(15, 4.8), squeeze=False,
                           title=f"Lossy codecs on zarr {results.newest.zarr_version}, 64³ chunks, format 2 ({data}): "
                                 "ratio against fidelity (Pareto front dashed; labels on it)")
    for ax, (column, ylabel, lower_better) in zip(axes[0], panels):
        drawn = [r for r in rows if r[column] != "" and finite(r[column])]
        for name, colour in FAMILY_COLOURS.items():
            here = [r for r in drawn if r["family"] == name]
            if here:
                ax.scatter([r["compression_ratio"] for r in here], [r[column] for r in here], color=colour,
                           label=name, s=36, zorder=3, marker="s" if name == "lossless" else "o")
        sign = -1 if lower_better else 1
        front = pareto_front([(r["compression_ratio"], sign * r[column]) for r in drawn])
        if len(front) > 1:
            ax.plot([x for x, _ in front], [sign * y for _, y in front], color="#999999", lw=1, ls="--", zorder=2)
        on_front = set(front)
        for r in drawn:
            if (r["compression_ratio"], sign * r[column]) in on_front:
                ax.annotate(r["codec"], (r["compression_ratio"], r[column]), fontsize=7,
                            xytext=(4, 3), textcoords="offset points")
        if column == "truth_fsc_0143_nyquist":
            original = next((r[column] for r in drawn if r["family"] == "lossless"), None)
            if original is not None:
                ax.axhline(original, color="#000000", lw=1, ls=":", label="original")
        if column == "truth_fsc_max_drop":
            ax.axhline(HARMLESS_DROP, color="#d62728", lw=1, ls=":", label="harmless limit")
            ax.set_yscale("symlog", linthresh=1e-5)
            ax.set_ylim(bottom=0)
        ax.set_xscale("log")
        ticks = [t for t in (1, 2, 4, 8, 16, 32, 64) if t <= max([r["compression_ratio"] for r in drawn] or [1]) * 1.5]
        ax.set_xticks(ticks, [str(t) for t in ticks])
        label_axis(ax, x="compression ratio (×, log)", y=ylabel)
    axes[0][0].legend(fontsize=7, title="codec family")
    return fig


def default_slice_codec(results: ReportResults) -> str:
    """The highest-ratio harmless lossy codec of the figures' rows, else the highest-ratio lossy one."""
    lossy = [r for r in _figure_rows(results) if r["lossy"]]
    if not lossy:
        raise ReportError("no lossy codec has results; run the lossy benchmarks first")
    harmless = [r for r in lossy if r["harmless"] is True] or lossy
    return max(harmless, key=lambda r: r["compression_ratio"])["codec"]


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


def build_slice_figure(results: ReportResults, codec: str | None = None, loaded=None):
    """Original (and the noise-free truth), decoded and difference on the middle XY slice; None when the
    data cannot be loaded here."""
    from zarr_cryoet.store.lossy_codecs import roundtrip

    rows = _figure_rows(results)
    if not rows:
        return None
    codec = codec or default_slice_codec(results)
    get_codec(codec)  # an unknown name fails in one line
    loaded = loaded or load_volume(results, rows[0]["data"])
    if loaded is None:
        return None
    volume = loaded.volume
    z = volume.shape[0] // 2
    original = volume[z]
    decoded = roundtrip(volume, get_codec(codec), LOSSY_CHUNKS)[z]
    difference = decoded.astype(np.float64) - original
    row = next((r for r in rows if r["codec"] == codec), {})
    sigma = float(volume.std(dtype=np.float64))
    panels = [(original, "original")] + ([(loaded.truth[z], "noise-free truth")] if loaded.truth is not None else [])
    panels.append((decoded, "decoded"))
    figures = ", ".join(text for text in (
        f"ratio {row['compression_ratio']:.2f}×" if finite(row.get("compression_ratio")) else "",
        f"RMSE {row['rmse_over_sigma']:.3g} σ" if finite(row.get("rmse_over_sigma")) else "",
        f"FSC loss against the truth {row['truth_fsc_max_drop']:.2g}" if finite(row.get("truth_fsc_max_drop")) else "")
        if text)
    fig, axes = new_figure(1, len(panels) + 1, figsize=(4.3 * (len(panels) + 1), 4.6), squeeze=False,
                           title=f"{get_codec(codec).label}: middle XY slice (z = {z}) of {rows[0]['data']}; {figures}")
    lo, hi = np.percentile(original, (0.5, 99.5))
    for ax, (image, title) in zip(axes[0], panels):
        ax.imshow(image, vmin=lo, vmax=hi, cmap="gray")
        ax.set_title(title)
        ax.set_axis_off()
    limit = max(float(np.abs(difference).max()), sigma * 1e-3) / sigma
    shown = axes[0][-1].imshow(difference / sigma, vmin=-limit, vmax=limit, cmap="RdBu_r")
    axes[0][-1].set_title("decoded − original")
    axes[0][-1].set_axis_off()
    fig.colorbar(shown, ax=axes[0][-1], fraction=0.046, label="error (units of σ)")
    voxel_size = provenance.voxel_size_angstrom(loaded.provenance)
    scale_bar(axes[0][0], voxel_size, original.shape)
    return fig


def build_fsc_figure(results: ReportResults, loaded=None):
    """FSC curves of the codecs on the ratio/fidelity Pareto front: against the original and, on the
    phantom, against the noise-free truth (next to the original's own); None when the data cannot be loaded."""
    from zarr_cryoet.fidelity.fsc import fourier_shell_correlation
    from zarr_cryoet.store.lossy_codecs import roundtrip

    rows = [r for r in _figure_rows(results) if r["lossy"]]
    if not rows:
        return None
    loaded = loaded or load_volume(results, rows[0]["data"])
    if loaded is None:
        return None
    column = "truth_fsc_max_drop" if loaded.truth is not None else "rmse_over_sigma"
    front = set(pareto_front([(r["compression_ratio"], -r[column]) for r in rows if finite(r[column])]))
    chosen = sorted((r for r in rows if (r["compression_ratio"], -r[column]) in front),
                    key=lambda r: r["compression_ratio"])
    panels = 2 if loaded.truth is not None else 1
    fig, axes = new_figure(1, panels, figsize=(6.5 * panels, 4.8), squeeze=False,
                           title=f"FSC curves of the codecs on the Pareto front ({rows[0]['data']}, 64³ chunks)")
    volume = loaded.volume
    colours = [FAMILY_COLOURS[r["family"]] for r in chosen]
    for i, (r, colour) in enumerate(zip(chosen, colours)):
        decoded = roundtrip(volume, get_codec(r["codec"]), LOSSY_CHUNKS)
        style = {"color": colour, "lw": 1.2, "ls": ("-", "--", ":", "-.")[i % 4],
                 "label": f"{r['codec']} ({r['compression_ratio']:.1f}×)"}
        curve = fourier_shell_correlation(volume, decoded)
        axes[0][0].plot(curve.fraction_of_nyquist, curve.fsc, **style)
        if panels == 2:
            curve = fourier_shell_correlation(decoded, loaded.truth)
            axes[0][1].plot(curve.fraction_of_nyquist, curve.fsc, **style)
    if panels == 2:
        reference = fourier_shell_correlation(volume, loaded.truth)
        axes[0][1].plot(reference.fraction_of_nyquist, reference.fsc, color="#000000", lw=2.5, alpha=0.35,
                        label="original", zorder=1)
        axes[0][1].set_title("decoded against the noise-free truth")
    axes[0][0].set_title("decoded against the original")
    for ax in axes[0]:
        for threshold in (0.5, 0.143):
            ax.axhline(threshold, color="#999999", lw=0.8, ls=":")
        ax.set_ylim(-0.05, 1.02)
        label_axis(ax, x="spatial frequency (fraction of Nyquist)", y="FSC (correlation)")
    axes[0][-1].legend(fontsize=7)
    return fig

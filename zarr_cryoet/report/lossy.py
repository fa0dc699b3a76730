"""The lossy question's table and figures: what each codec saves, and what it keeps of the data.

* ``lossy/lossy_results.csv``: per zarr release × data × codec × zarr format, the compression
  ratio and stored MB (from the files), write and full-read time (ms, where timed), and every
  fidelity figure (:mod:`zarr_cryoet.fidelity.metrics`), with the FSC crossings also in Å where
  the voxel size is recorded, and ``harmless``: the FSC against the phantom's noise-free truth
  lost at most :data:`~zarr_cryoet.fidelity.metrics.HARMLESS_DROP` in any shell.
* ``lossy/lossy_pareto.png``: compression ratio against the FSC-0.143 frequency (decoded vs
  original), the largest loss of FSC against the truth, and PSNR; one colour per codec family,
  the lossless codecs as reference points, the Pareto front drawn.
* ``lossy/lossy_slices.png``: the middle XY slice of the original, the decoded volume and their
  difference, for one codec (``--slice-codec``; default: the highest-ratio harmless one). The
  decoded slice is recomputed here by numcodecs (:func:`~zarr_cryoet.store.lossy_codecs.roundtrip`,
  which the benchmarks check every zarr read against), so it needs the data: the phantom, or the
  source ``$ZARR_CRYOET_SOURCE`` names when it is the data of the results.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from zarr_cryoet.fidelity.fsc import NYQUIST
from zarr_cryoet.fidelity.metrics import HARMLESS_DROP
from zarr_cryoet.report.families import LOSSY
from zarr_cryoet.report.results import ReportError, ReportResults, finite
from zarr_cryoet.report.style import label_axis, new_figure
from zarr_cryoet.report.tables import _cell
from zarr_cryoet.store.codecs import get_codec

LOSSY_CSV = Path("lossy", "lossy_results.csv")
PARETO_PNG = Path("lossy", "lossy_pareto.png")
SLICES_PNG = Path("lossy", "lossy_slices.png")
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
        voxel_size = (results.provenance(data) or {}).get("voxel_size")
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
    """Ratio (log x) against three fidelity figures, newest zarr release, format 2."""
    rows = _figure_rows(results)
    panels = [("fsc_0143_nyquist", "FSC(decoded, original) = 0.143\n(fraction of Nyquist; 1 = never)", False),
              ("truth_fsc_max_drop", f"largest loss of FSC against the truth\n(harmless ≤ {HARMLESS_DROP})", True),
              ("psnr", "PSNR (dB; lossless: infinite, not drawn)", False)]
    data = rows[0]["data"] if rows else ""
    fig, axes = new_figure(1, 3, figsize=(15, 4.8), squeeze=False,
                           title=f"Lossy codecs on zarr {results.newest.zarr_version}, 64³ chunks, format 2 ({data}): "
                                 "ratio against fidelity")
    for ax, (column, ylabel, lower_better) in zip(axes[0], panels):
        drawn = [r for r in rows if finite(r[column]) if r[column] != ""]
        for name, colour in FAMILY_COLOURS.items():
            here = [r for r in drawn if r["family"] == name]
            if here:
                ax.scatter([r["compression_ratio"] for r in here], [r[column] for r in here], color=colour,
                           label=name, s=36, zorder=3, marker="s" if name == "lossless" else "o")
                for r in here:
                    ax.annotate(r["codec"], (r["compression_ratio"], r[column]), fontsize=6,
                                xytext=(3, 3), textcoords="offset points")
        sign = -1 if lower_better else 1
        front = pareto_front([(r["compression_ratio"], sign * r[column]) for r in drawn])
        if len(front) > 1:
            ax.plot([x for x, _ in front], [sign * y for _, y in front], color="#999999", lw=1, ls="--",
                    zorder=2, label="Pareto front")
        if column == "truth_fsc_max_drop":
            ax.axhline(HARMLESS_DROP, color="#d62728", lw=1, ls=":", label="harmless limit")
            ax.set_yscale("symlog", linthresh=1e-4)
        ax.set_xscale("log")
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
    """The volume of the results' ``data``, loaded again (phantom; or ``$ZARR_CRYOET_SOURCE`` when it names
    that data), or None."""
    from zarr_cryoet.data import sources

    request = sources.request_from_env()
    recorded = results.provenance(data) or {}
    if request.identity() != data and str(recorded.get("source", "")).startswith("phantom"):
        request = sources.parse_source(recorded["source"])
    if request.identity() != data:
        return None
    return sources.load(request)


def build_slice_figure(results: ReportResults, codec: str | None = None):
    """Original, decoded and difference on the middle XY slice; None when the data cannot be loaded here."""
    from zarr_cryoet.store.lossy_codecs import roundtrip

    rows = _figure_rows(results)
    if not rows:
        return None
    data = rows[0]["data"]
    codec = codec or default_slice_codec(results)
    get_codec(codec)  # an unknown name fails in one line
    loaded = load_volume(results, data)
    if loaded is None:
        return None
    volume = loaded.volume
    decoded = roundtrip(volume, get_codec(codec), LOSSY_CHUNKS)
    z = volume.shape[0] // 2
    original, lossy = volume[z], decoded[z]
    difference = lossy.astype(np.float64) - original
    row = next((r for r in rows if r["codec"] == codec), {})
    sigma = float(volume.std(dtype=np.float64))
    fig, axes = new_figure(1, 3, figsize=(13, 4.6), squeeze=False,
                           title=f"{get_codec(codec).label}: middle XY slice (z = {z}) of {data}; ratio "
                                 f"{row.get('compression_ratio', float('nan')):.2f}×, RMSE {row.get('rmse_over_sigma', '')}σ")
    lo, hi = np.percentile(original, (0.5, 99.5))
    for ax, image, title in ((axes[0][0], original, "original"), (axes[0][1], lossy, "decoded")):
        ax.imshow(image, vmin=lo, vmax=hi, cmap="gray")
        ax.set_title(title)
        ax.set_axis_off()
    limit = max(float(np.abs(difference).max()), sigma * 1e-3)
    shown = axes[0][2].imshow(difference / sigma, vmin=-limit / sigma, vmax=limit / sigma, cmap="RdBu_r")
    axes[0][2].set_title("decoded − original (units of σ)")
    axes[0][2].set_axis_off()
    fig.colorbar(shown, ax=axes[0][2], fraction=0.046, label="error / σ")
    voxel_size = loaded.provenance.get("voxel_size")
    if voxel_size:
        _scale_bar(axes[0][0], voxel_size, original.shape[1])
    return fig


def _scale_bar(ax, voxel_size: float, width: int) -> None:
    """A white bar of a round length in nm, about a fifth of the image wide."""
    target_nm = width * voxel_size / 10 / 5
    length_nm = max(n for n in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if n <= max(target_nm, 1))
    voxels = length_nm * 10 / voxel_size
    ax.plot([width * 0.05, width * 0.05 + voxels], [width * 0.93] * 2, color="white", lw=3)
    ax.text(width * 0.05, width * 0.9, f"{length_nm} nm", color="white", fontsize=8)

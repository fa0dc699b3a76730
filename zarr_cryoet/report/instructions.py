"""Instructions per call beside the times: what each zarr release executes, which no machine's speed moves.

================================================  ==========================================================
file (under ``--out``)                            content
================================================  ==========================================================
``measurement/instructions.csv``                  per counted timing and release: instructions per call
                                                  (millions), the ratio to the oldest release's count, and,
                                                  where the timings' results have the case, its time and
                                                  the time's ratio to the oldest release
``measurement/instructions.png``                  chunking's reads on format 2: instructions per call by
                                                  chunk shape, one bar per release
================================================  ==========================================================

The counts (benchmarks/instructions.py) and the times may come from two runs: counts repeat between
machines (within 0.4 %) and between commits that leave the benchmarks alone, so a counting run is set
beside the recorded timings by case and release.
"""

from __future__ import annotations

import math
from pathlib import Path

from zarr_cryoet.asv.families import CHUNKING, INSTRUCTIONS
from zarr_cryoet.asv.results import ReportError, ReportResults, finite
from zarr_cryoet.report.style import add_run_label, figure_style, label_axis, new_figure, release_colours
from zarr_cryoet.store.stores import chunk_label
from zarr_cryoet.util import markdown

INSTRUCTIONS_CSV = Path("measurement", "instructions.csv")
INSTRUCTIONS_PNG = Path("measurement", "instructions.png")
#: the reads of the figure: chunking.Read's, on format 2 (every release can write it)
#: the counted classes' parameters (besides ``data``), one column each
PARAMETERS = ("codec", "chunks", "zarr_format", "pattern")
FIGURE_READS = {"time_read_full": "Full volume", "time_read_slice_xy": "Middle XY plane"}


def count_rows(counts: ReportResults, times: ReportResults | None = None) -> list[dict]:
    """One row per counted case and release (see the module docstring); ``times`` defaults to ``counts``."""
    times = times or counts
    time_envs = {env.label: env for env in times.envs}
    oldest = counts.envs[0] if counts.envs else None
    rows = []
    for (env_name, benchmark, combo), value in counts.values.items():  # asv's order: parameters as declared
        if not INSTRUCTIONS.counts(benchmark) or not finite(value):
            continue
        env = next(e for e in counts.envs if e.name == env_name)
        params = dict(zip(counts.param_names[benchmark], combo))
        timed = INSTRUCTIONS.timed(benchmark)
        first = counts.values.get((oldest.name, benchmark, combo), math.nan)
        seconds = times.value(time_envs[env.label], timed, **params) if env.label in time_envs else math.nan
        first_seconds = times.value(time_envs[oldest.label], timed, **params) if oldest.label in time_envs \
            else math.nan
        rows.append({"benchmark": timed, **{k: params.get(k, "") for k in PARAMETERS},
                     "instructions_millions": round(value / 1e6, 3),
                     "instructions_vs_oldest": round(value / first, 3) if finite(first) else "",
                     "time_ms": round(seconds * 1e3, 3) if finite(seconds) else "",
                     "time_vs_oldest": round(seconds / first_seconds, 3)
                     if finite(seconds) and finite(first_seconds) else "",
                     **counts.context(env, params.get("data"))})
    return rows


def release_line(rows: list[dict], benchmark: str = CHUNKING.full_read, chunks: str = "16x16x16",
                 zarr_format=2) -> str | None:
    """The answer's sentence on work and time: ``zarr 3.1.6 executes 3.03× the instructions of 2.18.7 for a 16³
    full read; its time ratio on this machine 1.22×``; None where the rows lack the case."""
    case = [r for r in rows if r["benchmark"] == benchmark and r.get("chunks") == chunks
            and r.get("zarr_format") == zarr_format]
    if len(case) < 2:
        return None
    oldest, parts = case[0]["zarr_version"], []
    for row in case[1:]:
        time = f"; its time ratio on this machine {row['time_vs_oldest']:.2f}×" if row["time_vs_oldest"] != "" else ""
        parts.append(f"zarr {row['zarr_version']} executes {row['instructions_vs_oldest']:.2f}× the instructions "
                     f"of {oldest} for a {chunk_label(chunks)} {benchmark.rpartition('_')[2]} read{time}")
    return "; ".join(parts) + "."


def build_count_figure(counts: ReportResults):
    """Instructions per call of chunking's reads on format 2, by chunk shape, one bar per release."""
    rows = [r for r in count_rows(counts) if r["benchmark"].startswith("chunking.Read.")
            and r.get("zarr_format") == 2]
    releases = list(dict.fromkeys(r["zarr_version"] for r in rows))
    colours = release_colours(releases)
    with figure_style():
        fig, axes = new_figure(1, len(FIGURE_READS), figsize=(6.5 * len(FIGURE_READS), 5.0), squeeze=False,
                               title="Instructions per call (valgrind; the minimum of 2 calls after a warm-up): "
                                     "the work, whatever the machine's speed")
        for ax, (method, title) in zip(axes[0], FIGURE_READS.items()):
            shown = [r for r in rows if r["benchmark"].endswith("." + method)]
            chunkings = list(dict.fromkeys(r["chunks"] for r in shown))
            width = 0.8 / max(len(releases), 1)
            for j, release in enumerate(releases):
                values = {r["chunks"]: r["instructions_millions"] for r in shown if r["zarr_version"] == release}
                ax.bar([i + (j - (len(releases) - 1) / 2) * width for i in range(len(chunkings))],
                       [values.get(c, math.nan) for c in chunkings], width, color=colours[release],
                       label=f"zarr {release}", edgecolor="#333333", linewidth=0.5)
            ax.set_xticks(range(len(chunkings)), [chunk_label(c) for c in chunkings], fontsize=9)
            ax.set_title(title)
            label_axis(ax, "Chunk shape on format 2 (voxels)", "Instructions per call (millions)")
        handles, labels = axes[0][0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
        data = rows[0]["data"] if rows else None
        add_run_label(fig, counts.run_label(data, cores="valgrind, one thread"))
    return fig


#: the cases of the README's table: (timed benchmark, chunks), format 2
HEADLINE = [(CHUNKING.full_read, "16x16x16"), (CHUNKING.full_read, "64x64x64"),
            (CHUNKING.slice_xy, "16x16x16"), (CHUNKING.slice_xy, "64x64x64"), (CHUNKING.write, "64x64x64")]


def render(counts_dir, results_dir=None, machine: str | None = None) -> str:
    """``zarr-cryoet instructions``: the headline cases' instructions per call per release, each newer release's
    ratio to the oldest beside its time ratio, then the release line (Markdown)."""
    counts = ReportResults.load(counts_dir, machine=machine)
    times = ReportResults.load(results_dir, machine=machine) if results_dir else counts
    rows = count_rows(counts, times)
    if not rows:
        raise ReportError(f"no instruction counts in {counts_dir}; run python3 tasks.py benchmark --bench "
                          "'^instructions\\.' first")
    releases = list(dict.fromkeys(r["zarr_version"] for r in rows))
    lines = [f"Instructions per call (millions; valgrind, the minimum of 2 calls, counted at commit "
             f"{counts.short_commit} on {counts.machine}), and beside each newer release its ratio to zarr "
             f"{releases[0]}'s count and to its time (timings of commit {times.short_commit}):", "",
             *markdown.table(["case (format 2)", *(f"zarr {r}" for r in releases)])]
    for benchmark, chunks in HEADLINE:
        cells = {r["zarr_version"]: r for r in rows if r["benchmark"] == benchmark and r["chunks"] == chunks
                 and r["zarr_format"] == 2}
        if not cells:
            continue
        text = []
        for release in releases:
            row = cells.get(release)
            if row is None:
                text.append("–")
            elif release == releases[0]:
                text.append(f"{row['instructions_millions']:.1f}")
            else:
                time = f", time {row['time_vs_oldest']:.2f}×" if row["time_vs_oldest"] != "" else ""
                text.append(f"{row['instructions_millions']:.1f} ({row['instructions_vs_oldest']:.2f}×{time})")
        what = benchmark.rpartition(".time_")[2].replace("read_", "").replace("_", " ")
        lines.append(markdown.row([f"{what}, {chunk_label(chunks)} chunks", *text]))
    line = release_line(rows)
    return "\n".join(lines + ([] if line is None else ["", line])) + "\n"

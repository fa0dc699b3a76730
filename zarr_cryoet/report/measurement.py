"""The report's measurement section: page faults per read, and the headline results at a realistic size.

================================================  ==========================================================
file (under ``--out``)                            content
================================================  ==========================================================
``measurement/page_faults.csv``, ``.png``         minor page faults per read per layout, read and zarr
                                                  release, with the allocator pinned (as every timing of
                                                  the suite) and in glibc's default state (a fresh process)
``measurement/realistic_size.csv``                write, full read and XY plane on the portal-sized
                                                  phantom per layout and zarr release, each with its ratio
                                                  to the oldest release (below 1: faster than zarr 2)
``measurement/detectable_change.csv``             per timing: its value, interval and processes in this
                                                  run, and the smallest change it can detect here (from the
                                                  machine's noise profile, :mod:`zarr_cryoet.asv.noise`;
                                                  written where there is one)
================================================  ==========================================================
"""

from __future__ import annotations

import math
from pathlib import Path

from zarr_cryoet.asv.families import PROCESS_STATE, REALISTIC
from zarr_cryoet.asv.noise import USELESS as NOISE_USELESS
from zarr_cryoet.asv.results import ReportResults, finite
from zarr_cryoet.report.style import (add_run_label, figure_style, label_axis, new_figure, plain_log_ticks,
                                      series_colour)
from zarr_cryoet.report.tables import interval_columns
from zarr_cryoet.store.stores import layout_label

PAGE_FAULTS_CSV = Path("measurement", "page_faults.csv")
PAGE_FAULTS_PNG = Path("measurement", "page_faults.png")
REALISTIC_CSV = Path("measurement", "realistic_size.csv")
DETECTABLE_CSV = Path("measurement", "detectable_change.csv")


def page_fault_rows(results: ReportResults) -> list[dict]:
    rows = []
    for data in results.choices(PROCESS_STATE.module, "data"):
        for env in results.envs:
            for fmt in results.choices(PROCESS_STATE.module, "zarr_format"):
                for chunks in results.choices(PROCESS_STATE.module, "chunks"):
                    for read in results.choices(PROCESS_STATE.module, "read"):
                        cells = {state: results.value(env, PROCESS_STATE.faults, data=data, chunks=chunks,
                                                      zarr_format=fmt, read=read, allocator=state)
                                 for state in results.choices(PROCESS_STATE.module, "allocator")}
                        if not any(finite(v) for v in cells.values()):
                            continue
                        rows.append({"chunks": chunks, "zarr_format": fmt, "read": read,
                                     **{f"faults_{s.replace(' ', '_')}": v if finite(v) else ""
                                        for s, v in cells.items()},
                                     **results.context(env, data)})
    return rows


def realistic_rows(results: ReportResults) -> list[dict]:
    """Per layout and release: the tier's times and each one's ratio to the oldest release with a result."""
    rows = []
    for data in results.choices(REALISTIC.module, "data"):
        for fmt in results.choices(REALISTIC.module, "zarr_format"):
            for chunks in results.choices(REALISTIC.module, "chunks"):
                base = {}
                for env in results.envs:
                    row = {"chunks": chunks, "zarr_format": fmt}
                    measured = False
                    for column, bench, factor in REALISTIC.columns:
                        value = results.value(env, bench, data=data, chunks=chunks, zarr_format=fmt)
                        measured |= finite(value)
                        row[column] = value * factor if finite(value) else ""
                        base.setdefault(column, (env.zarr_version, value) if finite(value) else None)
                        reference = base.get(column)
                        row[f"{column}_vs_oldest"] = (value / reference[1] if finite(value) and reference
                                                      else "")
                    if measured:
                        rows.append({**row, **results.context(env, data)})
    return rows


def detectable_rows(results: ReportResults, profile) -> list[dict]:
    """Per timing of the run: its value, its interval and processes
    (:func:`~zarr_cryoet.report.tables.interval_columns`) and the smallest change the noise profile says it can
    detect."""
    labels = {env.name: env for env in results.envs}
    rows = []
    for (env_name, benchmark, combo), value in sorted(results.values.items(), key=lambda kv: str(kv[0])):
        if results.units.get(benchmark) != "s" or not finite(value) or env_name not in labels:
            continue
        params = dict(zip(results.param_names[benchmark], combo))
        name = f"{benchmark}({', '.join(repr(v) for v in combo)})"
        detectable = profile.detectable(env_name, name)
        rows.append({"benchmark": benchmark,  # one column for the parameters: benchmarks differ in theirs
                     "parameters": ", ".join(f"{k}={v}" for k, v in params.items() if k != "data"),
                     "value_ms": value * 1e3,
                     **interval_columns(results.estimate(labels[env_name], benchmark, **params), "value"),
                     "detectable_change_pct": round(detectable * 100, 1) if detectable is not None else "",
                     "too_noisy_to_alarm": "" if detectable is None else detectable > NOISE_USELESS,
                     "noise_profile_runs": " ".join(profile.runs), **results.context(labels[env_name], params.get("data"))})
    return rows


def build_page_fault_figure(results: ReportResults):
    """Faults per read, one panel per read (full volume, XY plane): bars per layout and release, both states."""
    reads = results.choices(PROCESS_STATE.module, "read")
    states = results.choices(PROCESS_STATE.module, "allocator")
    rows = page_fault_rows(results)
    with figure_style():
        fig, axes = new_figure(1, max(len(reads), 1), figsize=(7.0 * max(len(reads), 1), 5.5), squeeze=False,
                               title="Minor page faults per read: allocator pinned (as every timing) vs glibc default "
                                     "(log scale above 10)")
        for ax, read in zip(axes[0], reads):
            shown = [r for r in rows if r["read"] == read]
            labels = [f"{layout_label(r['chunks'], r['zarr_format'])}\n{r['zarr_version']}" for r in shown]
            width = 0.8 / max(len(states), 1)
            for j, state in enumerate(states):
                values = [r[f"faults_{state.replace(' ', '_')}"] for r in shown]
                ax.bar([i + (j - (len(states) - 1) / 2) * width for i in range(len(shown))],
                       [v if v != "" else math.nan for v in values], width, color=series_colour(j), label=state,
                       edgecolor="#333333", linewidth=0.5)
            ax.set_xticks(range(len(shown)), labels, fontsize=8)
            ax.set_yscale("symlog", linthresh=10)
            plain_log_ticks(ax)
            ax.set_title({"full": "Full volume", "xy": "Middle XY plane"}.get(read, read))
            label_axis(ax, "Layout, zarr format, release (name)", "Page faults per read (count)")
        if reads:  # one legend for both panels, beside them: over the bars it would hide some
            handles, labels = axes[0][0].get_legend_handles_labels()
            fig.legend(handles, labels, title="Allocator", loc="outside lower center", ncols=len(labels))
        releases = list(dict.fromkeys(r["zarr_version"] for r in rows))
        add_run_label(fig, results.run_label(rows[0]["data"] if rows else None, zarr=", ".join(releases) or None))
    return fig

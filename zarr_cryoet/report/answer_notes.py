"""The lines under ``recommend``'s table: trade-offs, codecs, lossy setting, readers, portal size, releases.

Each line comes from the same run as the table, and every time and time ratio in it carries its
precision (:mod:`zarr_cryoet.report.precision`); compression ratios come from bytes on disk and
are exact.
"""

from __future__ import annotations

import math

from zarr_cryoet.fidelity.tiers import Tier, tier
from zarr_cryoet.report import object_storage
from zarr_cryoet.report.families import LOSSY
from zarr_cryoet.report.precision import differ, ratio_precision, ratio_text, timed
from zarr_cryoet.report.recommend import PORTAL, Answer, choose_env, recommend
from zarr_cryoet.report.results import ReportResults, finite
from zarr_cryoet.report.tables import chunk_label


def tradeoffs(answers: list[Answer], factor: float = 2.0) -> list[str]:
    """What each use case's best layout costs in the other use cases, where it is ``factor``× their best."""
    lines = []
    for a in answers:
        costs = []
        for other in answers:
            if other.use_case == a.use_case or other.data != a.data:
                continue
            same = next((r for r in other.ranked if (r.chunks, r.zarr_format) == (a.best.chunks, a.best.zarr_format)),
                        None)
            if same is not None and same.seconds >= factor * other.best.seconds:
                times = ratio_text(same.seconds / other.best.seconds, ratio_precision(same.precision,
                                                                                       other.best.precision))
                costs.append(f"{times} the best for {other.use_case.key} ({same} against {other.best.label}'s "
                             f"{other.best})")
        if costs:
            lines.append(f"Trade-off: {a.best.label}, the best for {a.use_case.key}, takes " + "; ".join(costs)
                         + ".")
    return lines


def release_ratios(results: ReportResults, env) -> list[tuple[float, float | None, bool | None]]:
    """Every timing of ``env`` against the oldest release's: (ratio, its precision, whether the two times
    differ beyond their intervals; None where either has none)."""
    base = results.envs[0]
    out = []
    for (name, benchmark, combo), value in results.values.items():
        if name != env.name or results.units.get(benchmark) != "s" or not finite(value):
            continue
        params = dict(zip(results.param_names[benchmark], combo))
        new, old = timed(results, env, benchmark, **params), timed(results, base, benchmark, **params)
        if new is not None and old is not None and old.seconds > 0 and new.seconds > 0:
            out.append((new.seconds / old.seconds, ratio_precision(new.precision, old.precision), differ(new, old)))
    return out


def releases(results: ReportResults) -> list[str]:
    """Each zarr release's times against the oldest in the run: the geometric mean ratio with its precision,
    and how many timings are slower or faster beyond their intervals."""
    if len(results.envs) < 2:
        return []
    lines = []
    for env in results.envs[1:]:
        found = release_ratios(results, env)
        if not found:
            continue
        logs = [math.log(r) for r, _, _ in found]
        mean = math.exp(sum(logs) / len(logs))
        precisions = [p for _, p, _ in found]
        spread = (math.sqrt(sum(p * p for p in precisions)) / len(found)
                  if all(p is not None for p in precisions) else None)
        slower = sum(1 for r, _, d in found if d and r > 1)
        faster = sum(1 for r, _, d in found if d and r < 1)
        unknown = sum(1 for *_, d in found if d is None)
        lines.append(f"zarr {env.zarr_version} against {results.envs[0].zarr_version}: timings "
                     f"{ratio_text(mean, spread, 2)} (geometric mean of {len(found)}); {slower} slower and {faster} "
                     "faster beyond their intervals" + (f", {unknown} without an interval" if unknown else "")
                     + " (report: version_comparison/).")
    return lines


def lossless_ratios(results: ReportResults, env, data) -> dict:
    """Each lossless codec's compression ratio (format 2, 64³ chunks, bytes on disk)."""
    ratios = {c: results.value(env, "compression.Storage.track_compression_ratio", data=data, codec=c, zarr_format=2)
              for c in results.choices("compression", "codec")}
    return {c: r for c, r in ratios.items() if finite(r)}


def keeps_everything(results: ReportResults, env, data) -> list[tuple]:
    """The lossy settings of the tier "keeps every voxel" (:mod:`zarr_cryoet.fidelity.tiers`), as (ratio, codec,
    RMSE/σ, write Timed or None)."""
    found = []
    for codec in results.choices(LOSSY.module, "codec"):
        cell = {"data": data, "codec": codec, "zarr_format": 2}
        figures = {name: results.value(env, bench, **cell) for name, bench in LOSSY.fidelity.items()}
        ratio = results.value(env, LOSSY.ratio, **cell)
        if finite(ratio) and tier(figures) is Tier.KEEPS_EVERY_VOXEL:
            found.append((ratio, codec, figures["rmse_over_sigma"],
                          timed(results, env, LOSSY.write, **cell)))
    return found


def fastest_write(settings: list[tuple]):
    written = [t for t in settings if t[3] is not None]
    return min(written, key=lambda t: t[3].seconds) if written else None


def _compared(results: ReportResults, env, benchmark: str, cells: dict) -> str:
    """``**best** (t ± p) of other t ± p, ≈ other t ± p``: the fastest of ``cells`` (name → parameters) and the
    rest, ≈ where a time's interval overlaps the best's; empty with fewer than two results."""
    found = sorted(((t, name) for name, params in cells.items() if (t := timed(results, env, benchmark, **params))),
                   key=lambda pair: pair[0].seconds)
    if len(found) < 2:
        return ""
    (best, name), rest = found[0], found[1:]
    return f"**{name}** ({best}) of " + ", ".join(
        f"{other} {'≈ ' if t.overlaps(best) else ''}{t}" for t, other in rest)


#: the engines whose ratio says when zarr-python's fused pipeline (zarr >= 3.3) pays
FUSED, DEFAULT = "zarr-python-fused", "zarr-python"


def fused_pays(results: ReportResults, env, data) -> str:
    """One line: zarr-python's fused pipeline against its default, full read and XY plane per layout, with the
    ratios' precision, and the layouts where it is faster beyond both intervals; empty where not measured."""
    if FUSED not in results.choices("engines", "engine"):
        return ""
    parts, pays, not_pays = [], [], []
    for chunks in results.choices("engines", "chunks"):
        fmt = 3 if "/" in str(chunks) else 2
        label = f"{chunk_label(chunks)} v{fmt}"
        ratios = []
        for operation, benchmark in (("full read", "engines.Read.time_read_full"),
                                     ("XY plane", "engines.Read.time_read_slice_xy")):
            fused, default = (timed(results, env, benchmark, data=data, chunks=chunks, zarr_format=fmt, engine=e)
                              for e in (FUSED, DEFAULT))
            if fused is None or default is None or not default.seconds:
                continue
            precision = ratio_precision(fused.precision, default.precision)
            ratios.append(f"{operation} {ratio_text(fused.seconds / default.seconds, precision, 2)}")
            if operation == "full read":
                (pays if differ(fused, default) and fused.seconds < default.seconds else not_pays).append(label)
        if ratios:
            parts.append(f"{label}: " + ", ".join(ratios))
    if not parts:
        return ""
    verdict = (f"it pays on {', '.join(pays)}" if pays else "it is not faster beyond the intervals on any layout") + (
        f", not beyond the intervals on {', '.join(not_pays)}" if pays and not_pays else "")
    return ("zarr-python's fused pipeline (zarr ≥ 3.3, one setting: codec_pipeline.path = FusedCodecPipeline) ÷ "
            "its default: " + "; ".join(parts) + f" — {verdict}; zarr {env.zarr_version}, {data}, one core.")


def cold_cache(results: ReportResults, env) -> list[str]:
    """One line per data: each layout's full read with the store's files out of the page cache, against the
    same read warm (benchmarks/cold.py); empty where the run has no cold reads."""
    from zarr_cryoet.report.cache_state import cold_rows

    lines = []
    rows = [r for r in cold_rows(results) if r["zarr_version"] == env.zarr_version and r["read"] == "full"]
    for data in dict.fromkeys(r["data"] for r in rows):
        parts = []
        for r in (r for r in rows if r["data"] == data):
            ratio = ratio_text(r["cold_over_warm"], _fraction(r["ratio_precision_pct"]), 2)
            parts.append(f"{chunk_label(r['chunks'])} v{r['zarr_format']} {r['cold_ms']:.1f} ms against "
                         f"{r['warm_ms']:.1f} ms warm ({ratio})")
        lines.append("Cold page cache (the store's files dropped before each read), full read: " + "; ".join(parts)
                     + f"; zarr {env.zarr_version}, {data}, one core, this VM's disk.")
    return lines


def _fraction(pct):
    return pct / 100 if pct != "" else None


def extras(results: ReportResults, zarr_version: str | None = None, answers: list[Answer] | None = None) -> list[str]:
    """One line each for the trade-offs, the codec, the lossy setting, the reader, the portal-sized volume
    and the zarr releases, where the results have them (the same run as the layout table)."""
    env = choose_env(results, zarr_version)
    lines = tradeoffs(answers if answers is not None else recommend(results, zarr_version))
    for data in results.choices("compression", "data"):
        ratios = lossless_ratios(results, env, data)
        if ratios:
            best = max(ratios, key=ratios.get)
            write = timed(results, env, "compression.Write.time_write", data=data, codec=best, zarr_format=2)
            lines.append(f"Lossless codec: **{best}** ({ratios[best]:.3f}×" + (f", write {write}" if write else "")
                         + ") of " + ", ".join(f"{c} {r:.3f}×" for c, r in sorted(ratios.items(), key=lambda kv: -kv[1])
                                               if c != best) + f"; zarr {env.zarr_version}, {data}, 64³ chunks.")
    for data in results.choices("lossy", "data"):
        kept = keeps_everything(results, env, data)
        if kept:
            ratio, codec, rmse, _ = max(kept)
            fastest = fastest_write(kept)
            line = (f"Lossy, keeping every voxel's information ({Tier.KEEPS_EVERY_VOXEL.rule}): most compression "
                    f"**{codec}** ({ratio:.2f}×, RMSE {rmse:.3f} σ)")
            if fastest and fastest[1] != codec:
                line += f"; fastest write **{fastest[1]}** ({fastest[0]:.2f}×, {fastest[3]})"
            lines.append(line + f"; zarr {env.zarr_version}, {data}.")
    for data in results.choices("engines", "data"):
        for chunks in results.choices("engines", "chunks"):
            fmt = 3 if "/" in str(chunks) else 2
            cells = {e: {"data": data, "chunks": chunks, "zarr_format": fmt, "engine": e}
                     for e in results.choices("engines", "engine")}
            line = _compared(results, env, "engines.Read.time_read_full", cells)
            if line:
                lines.append(f"Reader for {chunk_label(chunks)} v{fmt}, full read: {line}; zarr {env.zarr_version}, "
                             f"{data}, one core.")
        fused = fused_pays(results, env, data)
        if fused:
            lines.append(fused)
    lines += cold_cache(results, env)
    lines += object_storage.answer_lines(results, env)
    at_portal_size = bool(answers) and answers[0].size == PORTAL  # the table has the tier's every read then
    for data in ([] if at_portal_size else results.choices("realistic", "data")):
        for operation, benchmark in (("full read", "realistic.Read.time_read_full"),
                                     ("XY plane", "realistic.Read.time_read_slice_xy")):
            cells = {f"{chunk_label(c)} v{3 if '/' in str(c) else 2}":
                     {"data": data, "chunks": c, "zarr_format": 3 if "/" in str(c) else 2}
                     for c in results.choices("realistic", "chunks")}
            line = _compared(results, env, benchmark, cells)
            if line:
                lines.append(f"At portal size, {operation}: {line}; zarr {env.zarr_version}, {data}, every core.")
    return lines + releases(results)

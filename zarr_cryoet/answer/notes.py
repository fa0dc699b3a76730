"""The lines under ``recommend``'s table: trade-offs, codecs, lossy setting, readers, portal size, releases.

Each line comes from the same run as the table. Every time carries its interval and process count
(:mod:`zarr_cryoet.stats.estimate`), every "faster", "slower" and ``~`` comes from the one comparison rule
(:mod:`zarr_cryoet.stats.compare`, Benjamini–Hochberg across each line's comparisons), and the releases' line is
:mod:`zarr_cryoet.stats.release`; compression ratios come from bytes on disk and are exact.
"""

from __future__ import annotations

from zarr_cryoet.fidelity.tiers import Tier, tier
from zarr_cryoet.report import object_storage
from zarr_cryoet.asv.families import COMPRESSION, ENGINES, LOSSY, OBJECT_STORAGE, REALISTIC
from zarr_cryoet.answer import conversion
from zarr_cryoet.answer.half_maps import half_map_line
from zarr_cryoet.answer.recommend import PORTAL, Answer, choose_env, recommend
from zarr_cryoet.asv.results import ReportResults, finite, intervals_profile
from zarr_cryoet.stats.compare import adjust, compare, versus_text
from zarr_cryoet.stats.release import method, release_ratio
from zarr_cryoet.store.stores import implied_format, layout_label


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
                times = versus_text(other.versus(same), 1)
                costs.append(f"{times} the best for {other.use_case.key} ({same} against {other.best.label}'s "
                             f"{other.best})")
        if costs:
            lines.append(f"Trade-off: {a.best.label}, the best for {a.use_case.key}, takes " + "; ".join(costs)
                         + ".")
    return lines


def release_comparisons(results: ReportResults, env) -> list[tuple[str, object]]:
    """Every timing of ``env`` against the oldest release's, as (benchmark method, comparison): the version
    comparison's own tests (:func:`zarr_cryoet.report.versions.release_comparisons`, Benjamini–Hochberg across the
    release's timings), so the README and ``version_comparison.csv`` call the same timings slower or faster."""
    from zarr_cryoet.report.versions import baseline, release_comparisons as tested

    base = results.envs[0]
    out = []
    for (name, benchmark, combo), c in tested(results).items():
        if name != env.name or results.units.get(benchmark) != "s" or c.ratio <= 0:
            continue
        base_env, _ = baseline(results, benchmark, dict(zip(results.param_names[benchmark], combo)))
        if base_env is not None and base_env.name == base.name:
            out.append((method(benchmark), c))
    return out


def releases(results: ReportResults) -> list[str]:
    """Each zarr release's times against the oldest in the run: the geometric mean ratio with its interval (between
    benchmark methods, and between runs where the machine's profile measured it), and how many timings the
    comparison rule calls slower or faster."""
    if len(results.envs) < 2:
        return []
    profile = intervals_profile(results.results_dir, results.machine)
    lines = []
    for env in results.envs[1:]:
        cells = release_comparisons(results, env)
        if not cells:
            continue
        found = release_ratio(cells, profile.release_log_sd if profile else None,
                              profile.notes.get("machine_log_sd") if profile else None)
        lines.append(f"zarr {env.zarr_version} against {results.envs[0].zarr_version}: timings {found.text()}; "
                     f"{found.slower} slower and {found.faster} faster (Mann–Whitney over the processes, "
                     f"Benjamini–Hochberg q < 0.05), the other {found.timings - found.slower - found.faster} ~, "
                     f"{found.timings - found.testable} of them with too few processes to ever tell "
                     "(report: version_comparison/).")
    return lines


def lossless_ratios(results: ReportResults, env, data) -> dict:
    """Each lossless codec's compression ratio (format 2, 64³ chunks, bytes on disk)."""
    ratios = {c: results.value(env, COMPRESSION.ratio, data=data, codec=c, zarr_format=2)
              for c in results.choices("compression", "codec")}
    return {c: r for c, r in ratios.items() if finite(r)}


def keeps_everything(results: ReportResults, env, data) -> list[tuple]:
    """The lossy settings of the tier "keeps every voxel" (:mod:`zarr_cryoet.fidelity.tiers`), as (ratio, codec,
    RMSE/σ, write Estimate or None)."""
    found = []
    for codec in results.choices(LOSSY.module, "codec"):
        cell = {"data": data, "codec": codec, "zarr_format": 2}
        figures = {name: results.value(env, bench, **cell) for name, bench in LOSSY.fidelity.items()}
        ratio = results.value(env, LOSSY.ratio, **cell)
        if finite(ratio) and tier(figures) is Tier.KEEPS_EVERY_VOXEL:
            found.append((ratio, codec, figures["rmse_over_sigma"],
                          results.estimate(env, LOSSY.write, **cell)))
    return found


def fastest_write(settings: list[tuple]):
    written = [t for t in settings if t[3] is not None]
    return min(written, key=lambda t: t[3].value) if written else None


def _compared(results: ReportResults, env, benchmark: str, cells: dict) -> str:
    """``**best** (t [a–b, n]) of other t [a–b, n], ~ other t …``: the fastest of ``cells`` (name → parameters) and
    the rest, ``~`` where the comparison rule (adjusted across this line) cannot tell it from the best; empty with
    fewer than two results."""
    found = sorted(((t, name) for name, params in cells.items() if (t := results.estimate(env, benchmark, **params))),
                   key=lambda pair: pair[0].value)
    if len(found) < 2:
        return ""
    (best, name), rest = found[0], found[1:]
    tests = adjust([compare(best, t) for t, _ in rest])
    return f"**{name}** ({best}) of " + ", ".join(
        f"{other} {'' if c.differs else '~ '}{t}" for (t, other), c in zip(rest, tests))


#: the engines whose ratio says when zarr-python's fused pipeline (zarr >= 3.3) pays
FUSED, DEFAULT = "zarr-python-fused", "zarr-python"


def fused_pays(results: ReportResults, env, data) -> str:
    """One line: zarr-python's fused pipeline against its default, full read and XY plane per layout, each ratio
    with the comparison rule's verdict (adjusted across the line), and the layouts where its full read is faster;
    empty where not measured."""
    if FUSED not in results.choices("engines", "engine"):
        return ""
    found = []  # (layout label, operation, comparison)
    for chunks in results.choices("engines", "chunks"):
        fmt = implied_format(chunks)
        for operation, benchmark in (("full read", ENGINES.full_read), ("XY plane", ENGINES.slice_xy)):
            fused, default = (results.estimate(env, benchmark, data=data, chunks=chunks, zarr_format=fmt, engine=e)
                              for e in (FUSED, DEFAULT))
            if fused is not None and default is not None and default.value:
                found.append((f"{layout_label(chunks, fmt)}", operation, compare(default, fused)))
    if not found:
        return ""
    tests = adjust([c for *_, c in found])
    parts, pays, not_pays = {}, [], []
    for (label, operation, _), c in zip(found, tests):
        parts.setdefault(label, []).append(f"{operation} {versus_text(c)}")
        if operation == "full read":
            (pays if c.verdict == "faster" else not_pays).append(label)
    verdict = (f"it pays on {', '.join(pays)}" if pays else "it is not told apart as faster on any layout") + (
        f"; ~ or slower on {', '.join(not_pays)}" if pays and not_pays else "")
    parts = [f"{label}: " + ", ".join(ratios) for label, ratios in parts.items()]
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
            ratio = versus_text(r["comparison"]) if r.get("comparison") else f"{r['cold_over_warm']:.2f}×"
            parts.append(f"{layout_label(r['chunks'], r['zarr_format'])} {r['cold_ms']:.1f} ms against "
                         f"{r['warm_ms']:.1f} ms warm ({ratio})")
        lines.append("Cold page cache (the store's files dropped before each read), full read: " + "; ".join(parts)
                     + f"; zarr {env.zarr_version}, {data}, one core, this VM's disk.")
    return lines


def extras(results: ReportResults, zarr_version: str | None = None, answers: list[Answer] | None = None) -> list[str]:
    """One line each for the trade-offs, the codec, the lossy setting, the reader, the portal-sized volume
    and the zarr releases, where the results have them (the same run as the layout table)."""
    env = choose_env(results, zarr_version)
    lines = tradeoffs(answers if answers is not None else recommend(results, zarr_version))
    for data in results.choices("compression", "data"):
        ratios = lossless_ratios(results, env, data)
        if ratios:
            best = max(ratios, key=ratios.get)
            write = results.estimate(env, COMPRESSION.write, data=data, codec=best, zarr_format=2)
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
        half_maps = half_map_line(results, env, data)
        if half_maps:
            lines.append(half_maps)
    for data in results.choices("engines", "data"):
        for chunks in results.choices("engines", "chunks"):
            fmt = implied_format(chunks)
            cells = {e: {"data": data, "chunks": chunks, "zarr_format": fmt, "engine": e}
                     for e in results.choices("engines", "engine")}
            line = _compared(results, env, ENGINES.full_read, cells)
            if line:
                lines.append(f"Reader for {layout_label(chunks, fmt)}, full read: {line}; zarr {env.zarr_version}, "
                             f"{data}, one core.")
        fused = fused_pays(results, env, data)
        if fused:
            lines.append(fused)
    lines += cold_cache(results, env)
    lines += object_storage_lines(results, env)
    lines += conversion.conversion_lines(results, env)
    viewer = conversion.multiscale_line(results, env)
    if viewer:
        lines.append(viewer)
    at_portal_size = bool(answers) and answers[0].size == PORTAL  # the table has the tier's every read then
    for data in ([] if at_portal_size else results.choices("realistic", "data")):
        for operation, benchmark in (("full read", REALISTIC.full_read), ("XY plane", REALISTIC.slice_xy)):
            cells = {f"{layout_label(c, implied_format(c))}":
                     {"data": data, "chunks": c, "zarr_format": implied_format(c)}
                     for c in results.choices("realistic", "chunks")}
            line = _compared(results, env, benchmark, cells)
            if line:
                lines.append(f"At portal size, {operation}: {line}; zarr {env.zarr_version}, {data}, every core.")
    return lines + releases(results)


def object_storage_lines(results: ReportResults, env) -> list[str]:
    """The fastest client per workload and layout over the default network, and what consolidating saves."""
    if not results.has(object_storage.MODULE):
        return []
    lines = []
    for data in results.choices(object_storage.MODULE, "data"):
        parts = []
        for workload in results.choices(object_storage.MODULE, "workload"):
            if workload == "open":
                continue
            for chunks in results.choices(object_storage.MODULE, "chunks"):
                fmt = implied_format(chunks)
                cells = {c: {"data": data, "chunks": chunks, "client": c, "network": object_storage.NETWORK}
                         for c in results.choices(object_storage.MODULE, "client")}
                line = _compared(results, env, OBJECT_STORAGE.read(workload), cells)
                if line:
                    parts.append(f"{object_storage.WORKLOAD_TEXT.get(workload, workload)}, {layout_label(chunks, fmt)}: {line}")
        if parts:
            lines.append(f"From object storage ({object_storage.NETWORK_TEXT}): " + "; ".join(parts)
                         + f"; zarr {env.zarr_version}, {data}, one core.")
        opened = [r for r in object_storage.open_rows(results) if r["zarr_version"] == env.zarr_version and r["data"] == data
                  and r["requests"] != ""]
        by_client = {}
        for r in opened:
            by_client.setdefault(r["client"], {})[r["metadata"]] = r["requests"]
        saves = [f"{c} {m['plain']:.0f} → {m['consolidated']:.0f} requests" for c, m in by_client.items()
                 if {"plain", "consolidated"} <= set(m)]
        if saves:
            lines.append("Opening the portal's OME-Zarr image (group + 3 levels), as stored → with consolidated "
                         f"metadata: {'; '.join(saves)}; zarr {env.zarr_version}.")
    return lines

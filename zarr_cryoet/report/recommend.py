"""``zarr-cryoet recommend``: which layout to use, per use case, from one run's asv results.

For each use case the candidates are the layouts the run measured (chunk shape × zarr format,
sharded or not, Blosc-Zstd), ranked by the summed time of the reads that use case makes:

=====================  ===========================================================================
use case               reads (asv benchmarks)
=====================  ===========================================================================
XY viewer              the middle XY plane (``chunking.Read.time_read_slice_xy``)
orthogonal views       the middle XY, XZ and YZ planes, summed
particle picking       16 boxes of 32³ on the particles (``chunking.Read.time_read_particle_boxes``)
whole volume           the full read (``chunking.Read.time_read_full``)
over HTTP              4 XY planes + 16 boxes with 20 ms per request (``access.RemoteRead.time_read``)
=====================  ===========================================================================

Each answer names the best layout, the runner-up and the worst, with their times, for one zarr
release (the newest in the results unless asked) and the data the run measured. Every number is
an asv median of that one run; nothing is mixed in from elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

from zarr_cryoet.report.results import ReportError, ReportResults, finite
from zarr_cryoet.report.tables import chunk_label


@dataclass(frozen=True)
class UseCase:
    key: str
    title: str
    #: (benchmark, extra parameters) whose times are summed
    reads: tuple[tuple[str, tuple[tuple[str, object], ...]], ...]


USE_CASES = (
    UseCase("xy-viewer", "XY viewer (one XY plane)", (("chunking.Read.time_read_slice_xy", ()),)),
    UseCase("orthogonal", "orthogonal views (XY + XZ + YZ planes)",
            tuple((f"chunking.Read.time_read_slice_{axis}", ()) for axis in ("xy", "xz", "yz"))),
    UseCase("particles", "particle picking / subtomogram extraction (16 boxes of 32³)",
            (("chunking.Read.time_read_particle_boxes", ()),)),
    UseCase("whole-volume", "whole-volume processing (full read)", (("chunking.Read.time_read_full", ()),)),
    UseCase("remote", "over HTTP / object storage (4 XY planes + 16 boxes, +20 ms per request)",
            (("access.RemoteRead.time_read", (("pattern", "xy"), ("latency_ms", 20))),
             ("access.RemoteRead.time_read", (("pattern", "box32"), ("latency_ms", 20))))),
)


@dataclass(frozen=True)
class Ranked:
    """One layout's summed time for a use case, with the sums of its reads' quartiles."""

    chunks: str
    zarr_format: int
    seconds: float
    low: float | None = None  # sum of the reads' 25th percentiles (None: asv kept no statistics)
    high: float | None = None  # sum of their 75th percentiles

    @property
    def label(self) -> str:
        return f"{chunk_label(self.chunks)} v{self.zarr_format}"

    def overlaps(self, other: Ranked) -> bool:
        """Whether the two interquartile ranges overlap: the order between them is not a clear result."""
        return ranges_overlap((self.low, self.high), (other.low, other.high))


def ranges_overlap(a, b) -> bool:
    """Whether two (low, high) ranges overlap; False when either is unknown (None)."""
    if None in (*a, *b):
        return False
    return a[0] <= b[1] and b[0] <= a[1]


@dataclass(frozen=True)
class Answer:
    use_case: UseCase
    zarr_version: str
    data: str
    ranked: tuple[Ranked, ...]  # fastest first

    @property
    def best(self) -> Ranked:
        return self.ranked[0]

    @property
    def other_format(self) -> Ranked | None:
        """The best layout's chunks on the other zarr format, where measured."""
        return next((r for r in self.ranked if r.chunks == self.best.chunks and r is not self.best), None)

    @property
    def runner_up(self) -> Ranked | None:
        """The fastest layout with other chunks (the chunk shape is the choice that matters most)."""
        return next((r for r in self.ranked if r.chunks != self.best.chunks), None)

    @property
    def worst(self) -> Ranked | None:
        return self.ranked[-1] if len(self.ranked) > 2 else None


def _module(benchmark: str) -> str:
    return benchmark.partition(".")[0]


def rank(results: ReportResults, use_case: UseCase, env, data) -> tuple[Ranked, ...]:
    """Every layout with a time for each read of ``use_case`` in ``env``, fastest first."""
    module = _module(use_case.reads[0][0])
    out = []
    for chunks in results.choices(module, "chunks"):
        for fmt in results.choices(module, "zarr_format"):
            total, low, high = 0.0, 0.0, 0.0
            for benchmark, extra in use_case.reads:
                cell = dict(data=data, chunks=chunks, zarr_format=fmt, **dict(extra))
                value = results.value(env, benchmark, **cell)
                if not finite(value):
                    total = math.nan
                    break
                total += value
                spread = results.spread(env, benchmark, **cell)
                low, high = (None, None) if spread is None or low is None else (low + spread[0], high + spread[1])
            if finite(total):
                out.append(Ranked(chunks, int(fmt), total, low, high))
    return tuple(sorted(out, key=lambda r: r.seconds))


def choose_env(results: ReportResults, zarr_version: str | None = None):
    """The environment of ``zarr_version`` (default: the newest zarr in the results)."""
    envs = [e for e in results.envs if zarr_version in (None, e.zarr_version)]
    if not envs:
        known = ", ".join(e.zarr_version for e in results.envs)
        raise ReportError(f"no results for zarr {zarr_version}; the results hold zarr {known} (choose with --zarr)")
    return envs[-1]


def recommend(results: ReportResults, zarr_version: str | None = None) -> list[Answer]:
    """The answer for every use case the results can answer, for ``zarr_version`` (default: the newest)."""
    env = choose_env(results, zarr_version)
    answers = []
    for use_case in USE_CASES:
        module = _module(use_case.reads[0][0])
        for data in results.choices(module, "data"):
            ranked = rank(results, use_case, env, data)
            if ranked:
                answers.append(Answer(use_case, env.zarr_version, data, ranked))
    return answers


def _time(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _timed(r: Ranked) -> str:
    """``1.2 ms (1.1–1.3)``: the median and the interquartile range, in the median's unit."""
    if r.low is None:
        return _time(r.seconds)
    scale, unit = (1e3, "") if r.seconds < 1 else (1.0, " s")
    return f"{_time(r.seconds)} ({r.low * scale:.1f}–{r.high * scale:.{1 if scale > 1 else 2}f}{unit})"


def _size(results: ReportResults, data) -> str:
    volume = results.volume(data)
    if volume is None:
        return str(data)
    return f"{data} ({'×'.join(map(str, volume.shape))}, {volume.nbytes / 1e6:.1f} MB)"


def run_label(results: ReportResults, answers: list[Answer]) -> str:
    """One line naming the run every number comes from: commit, machine, date, data and zarr release."""
    info = results.machine_info()
    machine = results.machine + (f" ({info['num_cpu']} cores, {info['cpu']})" if info.get("num_cpu") and
                                 info.get("cpu") else "")
    when = (datetime.fromtimestamp(results.ran_at / 1e3, timezone.utc).strftime("%Y-%m-%d")
            if results.ran_at else "date unknown")
    data = ", ".join(dict.fromkeys(_size(results, a.data) for a in answers))
    zarrs = ", ".join(dict.fromkeys(a.zarr_version for a in answers))
    return (f"One asv run: commit {results.short_commit}, machine {machine}, {when}; zarr {zarrs}; data {data}. "
            "Times are asv medians with the interquartile range of the samples in brackets; "
            "≈ marks a time whose range overlaps the best's: no clear difference. The runner-up is the best "
            "layout with other chunks.")


def table(answers: list[Answer], results: ReportResults) -> str:
    """A Markdown table: use case, best, runner-up, worst (each with its time), and what it holds for."""
    lines = [run_label(results, answers), "", in_short(results, answers, answers[0].zarr_version if answers else None),
             "", "| use case | best | runner-up | worst | holds for |", "|---|---|---|---|---|"]
    for a in answers:
        best = f"**{a.best.label}**: {_timed(a.best)}"
        if a.other_format:
            best += f"; v{a.other_format.zarr_format} {'≈ ' if a.other_format.overlaps(a.best) else ''}" \
                    f"{_time(a.other_format.seconds)}"
        runner = "–"
        if a.runner_up:
            runner = (f"{'≈ ' if a.runner_up.overlaps(a.best) else ''}{a.runner_up.label}: "
                      f"{_timed(a.runner_up)}")
        worst = (f"{a.worst.label}: {_time(a.worst.seconds)} ({a.worst.seconds / a.best.seconds:.1f}× the best)"
                 if a.worst else "–")
        lines.append(f"| {a.use_case.title} | {best} | {runner} | {worst} | "
                     f"zarr {a.zarr_version}, {a.data} |")
    return "\n".join(lines)


#: the lossy settings that keep everything the phantom can show (docs/lossy.md): errors far below the noise
KEEPS_EVERYTHING = {"rmse_over_sigma": 0.03, "particle_ncc_min": 0.999}


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
                costs.append(f"{same.seconds / other.best.seconds:.1f}× the best for {other.use_case.key} "
                             f"({_time(same.seconds)} against {other.best.label}'s {_time(other.best.seconds)})")
        if costs:
            lines.append(f"Trade-off: {a.best.label}, the best for {a.use_case.key}, takes " + "; ".join(costs)
                         + ".")
    return lines


def releases(results: ReportResults, threshold: float = 1.1) -> list[str]:
    """Each zarr release's times against the oldest in the run: geometric mean ratio and the count of
    benchmarks slower or faster by more than ``threshold``."""
    if len(results.envs) < 2:
        return []
    base = results.envs[0]
    lines = []
    for env in results.envs[1:]:
        ratios = []
        for (name, benchmark, combo), value in results.values.items():
            if name != env.name or results.units.get(benchmark) != "s" or not finite(value):
                continue
            before = results.values.get((base.name, benchmark, combo))
            if finite(before) and before > 0 and value > 0:
                ratios.append(value / before)
        if ratios:
            mean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
            slower = sum(r > threshold for r in ratios)
            faster = sum(r < 1 / threshold for r in ratios)
            lines.append(f"zarr {env.zarr_version} against {base.zarr_version}: timings {mean:.2f}× "
                         f"(geometric mean of {len(ratios)}); {slower} slower and {faster} faster by more than "
                         f"{(threshold - 1) * 100:.0f} % (report: version_comparison/).")
    return lines


def lossless_ratios(results: ReportResults, env, data) -> dict:
    """Each lossless codec's compression ratio (format 2, 64³ chunks, bytes on disk)."""
    ratios = {c: results.value(env, "compression.Storage.track_compression_ratio", data=data, codec=c, zarr_format=2)
              for c in results.choices("compression", "codec")}
    return {c: r for c, r in ratios.items() if finite(r)}


def keeps_everything(results: ReportResults, env, data) -> list[tuple]:
    """The lossy settings within :data:`KEEPS_EVERYTHING`, as (ratio, codec, RMSE/σ, write seconds or nan)."""
    tier = []
    for codec in results.choices("lossy", "codec"):
        cell = {"data": data, "codec": codec, "zarr_format": 2}
        rmse = results.value(env, "lossy.Fidelity.track_rmse_over_sigma", **cell)
        ncc = results.value(env, "lossy.Fidelity.track_particle_ncc_min", **cell)
        ratio = results.value(env, "lossy.Storage.track_compression_ratio", **cell)
        if all(finite(v) for v in (rmse, ncc, ratio)) and rmse > 0 \
                and rmse <= KEEPS_EVERYTHING["rmse_over_sigma"] and ncc >= KEEPS_EVERYTHING["particle_ncc_min"]:
            tier.append((ratio, codec, rmse, results.value(env, "lossy.Write.time_write", **cell)))
    return tier


def _fastest(tier: list[tuple]):
    timed = [t for t in tier if finite(t[3])]
    return min(timed, key=lambda t: t[3]) if timed else None


def in_short(results: ReportResults, answers: list[Answer], zarr_version: str | None = None) -> str:
    """The whole answer in one sentence: chunks per use case, whether the format matters, the codecs."""
    if not answers:
        return ""
    env = choose_env(results, zarr_version)
    data = answers[0].data
    same = [a for a in answers if a.data == data]
    chunks = "; ".join(f"{_choice(a)} for {SHORT[a.use_case.key]}" for a in same)
    compared = [a for a in same if a.other_format]
    clear = [a for a in compared if not a.other_format.overlaps(a.best)]
    formats = (f"zarr format 2 or 3 alike (their times overlap) in {len(compared) - len(clear)} of the "
               f"{len(compared)} use cases measured on both"
               + "".join(f"; v{a.best.zarr_format} faster for {SHORT[a.use_case.key]}" for a in clear))
    parts = [f"In short, for {data} on zarr {env.zarr_version}: chunks {chunks}", formats]
    ratios = lossless_ratios(results, env, data)
    if ratios:
        parts.append(f"lossless codec {max(ratios, key=ratios.get)}")
    tier = keeps_everything(results, env, data)
    if tier:
        fastest, smallest = _fastest(tier), max(tier)
        parts.append("lossy without visible loss: " + (f"{fastest[1]} (fastest write) or " if fastest and
                                                        fastest[1] != smallest[1] else "") + f"{smallest[1]} (smallest)")
    return "; ".join(parts) + "."


def _choice(answer: Answer) -> str:
    """The best chunks, or ``A or B (≈)`` where the runner-up's range overlaps the best's: no clear winner."""
    best = chunk_label(answer.best.chunks)
    runner = answer.runner_up
    return f"{best} or {chunk_label(runner.chunks)} (≈)" if runner and runner.overlaps(answer.best) else best


#: the use cases' names inside a sentence
SHORT = {"xy-viewer": "an XY viewer", "orthogonal": "orthogonal views", "particles": "particle picking",
         "whole-volume": "whole-volume processing", "remote": "reads over HTTP"}


def _compared(results: ReportResults, env, benchmark: str, cells: dict) -> str:
    """``**best** (t) of other t, ≈ other t``: the fastest of ``cells`` (name → parameters) and the rest, ≈
    where a time's interquartile range overlaps the best's; empty with fewer than two results."""
    timed = sorted((value, name, results.spread(env, benchmark, **params) or (None, None))
                   for name, params in cells.items() if finite(value := results.value(env, benchmark, **params)))
    if len(timed) < 2:
        return ""
    (best, name, spread), rest = timed[0], timed[1:]
    return f"**{name}** ({_time(best)}) of " + ", ".join(
        f"{other} {'≈ ' if ranges_overlap(other_spread, spread) else ''}{_time(value)}" for value, other, other_spread in rest)


def extras(results: ReportResults, zarr_version: str | None = None, answers: list[Answer] | None = None) -> list[str]:
    """One line each for the trade-offs, the codec, the lossy setting, the reader, the portal-sized volume
    and the zarr releases, where the results have them (the same run as the layout table)."""
    env = choose_env(results, zarr_version)
    lines = tradeoffs(answers if answers is not None else recommend(results, zarr_version))
    for data in results.choices("compression", "data"):
        ratios = lossless_ratios(results, env, data)
        if ratios:
            best = max(ratios, key=ratios.get)
            write = results.value(env, "compression.Write.time_write", data=data, codec=best, zarr_format=2)
            lines.append(f"Lossless codec: **{best}** ({ratios[best]:.3f}×"
                         + (f", write {_time(write)}" if finite(write) else "") + ") of "
                         + ", ".join(f"{c} {r:.3f}×" for c, r in sorted(ratios.items(), key=lambda kv: -kv[1])
                                     if c != best) + f"; zarr {env.zarr_version}, {data}, 64³ chunks.")
    for data in results.choices("lossy", "data"):
        tier = keeps_everything(results, env, data)
        if tier:
            ratio, codec, rmse, _ = max(tier)
            fastest = _fastest(tier)
            line = (f"Lossy, keeping everything the data shows (RMSE ≤ {KEEPS_EVERYTHING['rmse_over_sigma']} σ, "
                    f"every particle box NCC ≥ {KEEPS_EVERYTHING['particle_ncc_min']}): most compression "
                    f"**{codec}** ({ratio:.2f}×, RMSE {rmse:.3f} σ)")
            if fastest and fastest[1] != codec:
                line += f"; fastest write **{fastest[1]}** ({fastest[0]:.2f}×, {_time(fastest[3])})"
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
    for data in results.choices("realistic", "data"):
        for operation, benchmark in (("full read", "realistic.Read.time_read_full"),
                                     ("XY plane", "realistic.Read.time_read_slice_xy")):
            cells = {f"{chunk_label(c)} v{3 if '/' in str(c) else 2}":
                     {"data": data, "chunks": c, "zarr_format": 3 if "/" in str(c) else 2}
                     for c in results.choices("realistic", "chunks")}
            line = _compared(results, env, benchmark, cells)
            if line:
                lines.append(f"At portal size, {operation}: {line}; zarr {env.zarr_version}, {data}, every core.")
    return lines + releases(results)

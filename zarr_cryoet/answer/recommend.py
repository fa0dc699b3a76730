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
object storage         XY plane + full read from S3, 20 ms per request, 10 requests in flight; every layout with
                       every client (``object_storage.Read``): the answer names the library and the layout
=====================  ===========================================================================

Each answer names the best layout, the runner-up and the worst, with their times and intervals
(:mod:`zarr_cryoet.stats.estimate`) and whether the suite's one comparison rule tells them apart from the best
(:mod:`zarr_cryoet.stats.compare`: an exact rank test over the processes, Benjamini–Hochberg across the whole
answer's comparisons), for one zarr release (the newest in the results unless
asked) and the data the run measured. Every number comes from that one run; nothing is mixed in
from elsewhere. The lines under the table are :mod:`zarr_cryoet.answer.notes`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from zarr_cryoet.asv.families import ACCESS, CHUNKING, OBJECT_STORAGE, REALISTIC
from zarr_cryoet.stats.calibration import COVERAGE
from zarr_cryoet.stats.compare import ALPHA, Comparison, adjust, compare
from zarr_cryoet.stats.estimate import Estimate, summed
from zarr_cryoet.asv.results import ReportError, ReportResults
from zarr_cryoet.store.stores import chunk_label, implied_format, layout_label
from zarr_cryoet.util import markdown


@dataclass(frozen=True)
class UseCase:
    key: str
    title: str
    #: at 128³ on one core: (benchmark, extra parameters) whose times are summed
    reads: tuple[tuple[str, tuple[tuple[str, object], ...]], ...]
    #: at portal size on every core (``benchmarks/realistic.py``), where that tier measures it
    at_size: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()
    #: a parameter whose every value is a candidate beside the layout (the S3 client)
    varies: str | None = None

    def reads_at(self, size: str) -> tuple:
        return self.at_size if size == PORTAL else self.reads


#: the two sizes the suite measures: the portal's tomogram on every core, 128³ on one core
PORTAL, SMALL = "portal", "128"
CORES = {PORTAL: "every core", SMALL: "one core"}
_S3 = (("network", "20ms-1gbit"),)

USE_CASES = (
    UseCase("xy-viewer", "XY viewer (one XY plane)", ((CHUNKING.slice_xy, ()),),
            ((REALISTIC.use_case("time_read_slice_xy"), ()),)),
    UseCase("orthogonal", "orthogonal views (XY + XZ + YZ planes)",
            tuple((CHUNKING.slices[axis], ()) for axis in ("XY", "XZ", "YZ")),
            ((REALISTIC.use_case("time_read_orthogonal"), ()),)),
    UseCase("particles", "particle picking / subtomogram extraction (16 boxes of 32³)",
            ((CHUNKING.boxes, ()),), ((REALISTIC.use_case("time_read_particle_boxes"), ()),)),
    UseCase("particles-64", "subtomogram averaging, large particles (16 boxes of 64³)",
            ((ACCESS.read, (("pattern", "box64"),)),),
            ((REALISTIC.use_case("time_read_particle_boxes_64"), ()),)),
    UseCase("whole-volume", "whole-volume processing, training (full read)", ((CHUNKING.full_read, ()),),
            ((REALISTIC.use_case("time_read_full"), ()),)),
    UseCase("remote", "over HTTP (4 XY planes + 16 boxes, +20 ms per request)",
            ((ACCESS.remote, (("pattern", "xy"), ("latency_ms", 20))),
             (ACCESS.remote, (("pattern", "box32"), ("latency_ms", 20))))),
    UseCase("object-storage", "from object storage (S3 API, 20 ms per request, 10 requests in flight; XY plane + "
            "full read; layout and library)",
            tuple((OBJECT_STORAGE.read(w), _S3) for w in ("xy", "full")),
            tuple((REALISTIC.object_storage(w), ()) for w in ("xy", "full")), varies="client"),
)
#: ``--use`` names: what users call their reads -> use case keys
USE_NAMES = {"viewer": "xy-viewer", "xy": "xy-viewer", "orthogonal": "orthogonal", "particles": "particles",
             "particles-64": "particles-64", "training": "whole-volume", "whole-volume": "whole-volume",
             "http": "remote", "object-storage": "object-storage", "s3": "object-storage"}


@dataclass(frozen=True)
class Ranked:
    """One layout's time for a use case: the sum of its reads' estimates (:func:`zarr_cryoet.stats.estimate.summed`)."""

    time: Estimate
    chunks: str = ""
    zarr_format: int = 0
    via: str = ""  # the value of the use case's ``varies`` parameter (the S3 client), if it has one

    @property
    def seconds(self) -> float:
        return self.time.value

    def __str__(self) -> str:
        return str(self.time)

    @property
    def label(self) -> str:
        return f"{layout_label(self.chunks, self.zarr_format)}" + (f" via {self.via}" if self.via else "")


@dataclass(frozen=True)
class Answer:
    use_case: UseCase
    zarr_version: str
    data: str
    ranked: tuple[Ranked, ...]  # fastest first
    size: str = SMALL  # PORTAL or SMALL: which tier measured it
    #: set when the times are scaled to another shape (:mod:`zarr_cryoet.answer.scaling`): that shape
    scaled_to: tuple[int, ...] | None = None
    #: each layout's comparison with the best (label → :class:`Comparison`), adjusted across the whole answer
    #: (:func:`compare_rows`); empty until then
    comparisons: dict = field(default_factory=dict, compare=False)

    def versus(self, ranked: Ranked) -> Comparison:
        """``ranked`` against the best: the adjusted comparison where :func:`compare_rows` made it, else a fresh one."""
        return self.comparisons.get(ranked.label) or compare(self.best.time, ranked.time)

    def apart(self, ranked: Ranked | None) -> bool:
        """Whether the comparison rule tells ``ranked`` apart from the best (False for None)."""
        return ranked is not None and self.versus(ranked).differs

    def mark(self, ranked: Ranked) -> str:
        """``~ `` where ``ranked`` cannot be told apart from the best, else nothing."""
        return "" if self.apart(ranked) else "~ "

    @property
    def decided(self) -> bool:
        """Whether the best is told apart from the runner-up (an answer with one candidate is decided)."""
        return self.runner_up is None or self.apart(self.runner_up)

    @property
    def cores(self) -> str:
        return CORES[self.size]

    @property
    def best(self) -> Ranked:
        return self.ranked[0]

    @property
    def other_format(self) -> Ranked | None:
        """The best layout's chunks on the other zarr format, where measured."""
        return next((r for r in self.ranked if r.chunks == self.best.chunks and r.zarr_format != self.best.zarr_format
                     and r.via == self.best.via), None)

    @property
    def runner_up(self) -> Ranked | None:
        """The fastest layout with other chunks (the chunk shape is the choice that matters most)."""
        return next((r for r in self.ranked if r.chunks != self.best.chunks), None)

    @property
    def worst(self) -> Ranked | None:
        return self.ranked[-1] if len(self.ranked) > 2 else None


def _module(benchmark: str) -> str:
    return benchmark.partition(".")[0]


def rank(results: ReportResults, use_case: UseCase, env, data, size: str = SMALL) -> tuple[Ranked, ...]:
    """Every layout with a time for each read of ``use_case`` at ``size`` in ``env``, fastest first; at portal size
    the use cases' plain chunks on format 3 too (``realistic.UseCasesV3``), where the run measured them."""
    reads = use_case.reads_at(size)
    if not reads:
        return ()
    out = _ranked(results, use_case, reads, env, data)
    on_3 = tuple((REALISTIC.on_format_3(benchmark), extra) for benchmark, extra in reads)
    if size == PORTAL and all(benchmark in results.param_names for benchmark, _ in on_3):
        out += _ranked(results, use_case, on_3, env, data, zarr_format=3)
    return tuple(sorted(out, key=lambda r: r.seconds))


def _ranked(results: ReportResults, use_case: UseCase, reads, env, data, zarr_format: int | None = None) -> list:
    """The layouts of the grid of ``reads``' benchmark class with a time for each read (``zarr_format``: that of a
    grid whose every layout is on one format)."""
    group = reads[0][0].rpartition(".")[0]  # the benchmark class: its grid is the candidates
    has_format = "zarr_format" in results.param_names.get(reads[0][0], ())
    out = []
    variants = results.choices(group, use_case.varies) if use_case.varies else [None]
    for chunks, via in itertools.product(results.choices(group, "chunks"), variants):
        # a grid without a format parameter (object_storage, realistic) puts shards on format 3, plain chunks on 2
        formats = results.choices(group, "zarr_format") if has_format else [zarr_format or implied_format(chunks)]
        for fmt in formats:
            parts = []
            for benchmark, extra in reads:
                by_format = {"zarr_format": fmt} if has_format else {}
                by_variant = {use_case.varies: via} if use_case.varies else {}
                cell = dict(data=data, chunks=chunks, **by_format, **by_variant, **dict(extra))
                parts.append(results.estimate(env, benchmark, **cell))
            if all(parts):
                out.append(Ranked(summed(parts), chunks=chunks, zarr_format=int(fmt), via=via or ""))
    return out


def compare_rows(answers: list[Answer]) -> list[Answer]:
    """The answers with every layout compared to its use case's best, Benjamini–Hochberg across all of them: the
    false discovery rate of the whole answer's "faster/slower" is :data:`~zarr_cryoet.stats.compare.ALPHA`."""
    pairs = [(i, r) for i, a in enumerate(answers) for r in a.ranked[1:]]
    adjusted = adjust([compare(answers[i].best.time, r.time) for i, r in pairs])
    found: dict[int, dict] = {}
    for (i, r), c in zip(pairs, adjusted):
        found.setdefault(i, {})[r.label] = c
    return [replace(a, comparisons=found.get(i, {})) for i, a in enumerate(answers)]


def choose_env(results: ReportResults, zarr_version: str | None = None):
    """The environment of ``zarr_version`` (default: the newest zarr in the results)."""
    envs = [e for e in results.envs if zarr_version in (None, e.zarr_version)]
    if not envs:
        known = ", ".join(e.zarr_version for e in results.envs)
        raise ReportError(f"no results for zarr {zarr_version}; the results hold zarr {known} (choose with --zarr)")
    return envs[-1]


def measured_sizes(results: ReportResults) -> list[str]:
    """The sizes the results answer at, portal size first."""
    return [size for size in (PORTAL, SMALL)
            if any(read in results.param_names for u in USE_CASES for read, _ in u.reads_at(size))]


def recommend(results: ReportResults, zarr_version: str | None = None, size: str | None = None,
              uses: tuple[str, ...] | None = None) -> list[Answer]:
    """The answer for every use case (or those keyed in ``uses``) the results can answer at ``size`` (default:
    portal size where measured, else 128³), for ``zarr_version`` (default: the newest)."""
    env = choose_env(results, zarr_version)
    size = size or next(iter(measured_sizes(results)), SMALL)
    answers = []
    for use_case in USE_CASES:
        reads = use_case.reads_at(size)
        if not reads or (uses is not None and use_case.key not in uses):
            continue
        for data in results.choices(_module(reads[0][0]), "data"):
            ranked = rank(results, use_case, env, data, size)
            if ranked:
                answers.append(Answer(use_case, env.zarr_version, data, ranked, size))
    return compare_rows(answers)


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
            f"{MEANING} The runner-up is the best layout with other chunks.")


#: what every time, interval and ~ of the answer is (the run label says it once)
MEANING = ("Times are the fastest of each benchmark's processes (asv rounds, interleaved across the zarr releases), "
           f"n of them: [a–b] is where {COVERAGE:.0%} of other runs of this commit on this machine land (measured on "
           "runs hours apart, docs/measurement.md), (range a–b) the processes' own range where no such band is "
           "measured. ~ marks a layout the rank test cannot tell apart from the best (Mann–Whitney over the "
           f"processes, Benjamini–Hochberg q ≥ {ALPHA} across this answer; with 2 or 3 processes a side it never "
           "can). Ratios of bytes on disk are exact.")


def table(answers: list[Answer], results: ReportResults, short: bool = True) -> str:
    """A Markdown table: use case, best, runner-up, worst (each with its time), and what it holds for; headed by
    the run label and the answer in one sentence unless ``short`` is False (:mod:`.answer` prints those itself)."""
    lines = ([run_label(results, answers), "", in_short(results, answers, answers[0].zarr_version if answers else
                                                           None), ""] if short else []) + markdown.table(
        ["use case", "best", "runner-up", "worst", "holds for"])
    for a in answers:
        mark = "≈" if a.scaled_to else ""
        best = f"**{a.best.label}**: {mark}{a.best}"
        if a.other_format:
            best += f"; v{a.other_format.zarr_format} {a.mark(a.other_format)}{mark}{a.other_format}"
        runner = "–"
        if a.runner_up:
            runner = (f"{a.mark(a.runner_up)}{a.runner_up.label}: {mark}{a.runner_up} "
                      f"({'told apart' if a.apart(a.runner_up) else 'cannot tell apart'}, {a.versus(a.runner_up).text()})")
        worst = "–"
        if a.worst:
            c = a.versus(a.worst)
            worst = f"{a.worst.label}: {mark}{a.worst} ({c.ratio:.1f}× the best{'' if c.differs else ', ~'})"
        where = (f"≈{'×'.join(map(str, a.scaled_to))} (scaled from {a.data})" if a.scaled_to else a.data)
        lines.append(markdown.row([a.use_case.title, best, runner, worst, f"zarr {a.zarr_version}, {where}, {a.cores}"]))
    return "\n".join(lines)


def in_short(results: ReportResults, answers: list[Answer], zarr_version: str | None = None) -> str:
    """The whole answer in one sentence: chunks per use case, whether the format matters, the codecs."""
    from zarr_cryoet.answer.notes import fastest_write, keeps_everything, lossless_ratios

    if not answers:
        return ""
    env = choose_env(results, zarr_version)
    data = answers[0].data
    same = [a for a in answers if a.data == data]
    chunks = "; ".join(f"{_choice(a)} for {SHORT[a.use_case.key]}" for a in same)
    compared = [a for a in same if a.other_format]
    clear = [a for a in compared if a.apart(a.other_format)]
    formats = (f"zarr format 2 or 3 not told apart in {len(compared) - len(clear)} of the "
               f"{len(compared)} use cases measured on both"
               + "".join(f"; v{a.best.zarr_format} faster for {SHORT[a.use_case.key]}" for a in clear))
    parts = [f"In short, for {data} on zarr {env.zarr_version}: chunks {chunks}", formats]
    ratios = lossless_ratios(results, env, data)
    if ratios:
        parts.append(f"lossless codec {max(ratios, key=ratios.get)}")
    tier = keeps_everything(results, env, data)
    if tier:
        fastest, smallest = fastest_write(tier), max(tier)
        parts.append("lossy keeping every voxel's information: " + (f"{fastest[1]} (fastest write) or " if fastest and
                                                        fastest[1] != smallest[1] else "") + f"{smallest[1]} (smallest)")
    return "; ".join(parts) + "."


def _choice(answer: Answer) -> str:
    """The best chunks, or ``A or B (~)`` where the rule cannot tell the runner-up apart from the best."""
    best = chunk_label(answer.best.chunks) + (f" via {answer.best.via}" if answer.best.via else "")
    runner = answer.runner_up
    return f"{best} or {chunk_label(runner.chunks)} (~)" if runner and not answer.decided else best


#: the use cases' names inside a sentence
SHORT = {"xy-viewer": "an XY viewer", "orthogonal": "orthogonal views", "particles": "particle picking",
         "particles-64": "64³ particle boxes", "whole-volume": "whole-volume processing", "remote": "reads over HTTP",
         "object-storage": "reads from object storage"}

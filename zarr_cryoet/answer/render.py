"""The whole answer of ``zarr-cryoet recommend``, as text: limits, mixed use, the table, the lines under it.

One function, :func:`render`, makes it for the command line (:mod:`zarr_cryoet.cli`) and for the README's
generated block (:mod:`zarr_cryoet.answer.readme`); :func:`add_arguments` declares its options once for
both. In order:

1. the run label (commit, machine, date, zarr, data) and what every time, interval and ~ means;
2. the limits (:mod:`~zarr_cryoet.answer.limits`): what the answer covers, what it does not, and how
   far a time moves between runs;
3. the mixed-use row (:mod:`~zarr_cryoet.answer.mixed_use`) for ``--use``;
4. the table, one row per use case, at portal size on every core where the run measured it, else at the
   suite's 128³ on one core; ``--shape`` scales it (:mod:`~zarr_cryoet.answer.scaling`);
5. the lines under it (:mod:`~zarr_cryoet.answer.notes`) and the one on threads at 128³.
"""

from __future__ import annotations

import argparse

from zarr_cryoet.asv.families import CHUNKING
from zarr_cryoet.answer import in_place, limits as answer_limits, mixed_use, recommend, scaling
from zarr_cryoet.answer.recommend import PORTAL, SMALL, USE_NAMES, Answer
from zarr_cryoet.asv import options
from zarr_cryoet.asv.results import ReportError, ReportResults
from zarr_cryoet.store.stores import implied_format, layout_label


def command(argv: list[str]) -> str:
    """What ``zarr-cryoet recommend ARGV`` prints, from recorded results (the README's generated answer)."""
    parser = _QuietParser(prog="zarr-cryoet recommend")
    options.add_run(parser)
    add_arguments(parser)
    args = parser.parse_args(argv)
    results = ReportResults.load(args.results, machine=args.machine, commit=args.commit)
    return render(results, args.zarr, args.shape, args.use)


class _QuietParser(argparse.ArgumentParser):
    """A parser that raises its error as one line instead of printing the usage and exiting."""

    def error(self, message):
        raise ReportError(f"{message}; a generated answer takes --results, --machine, --commit, --zarr, --shape "
                          "and --use")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--zarr``, ``--shape`` and ``--use``: what the answer is for."""
    parser.add_argument("--zarr", help="zarr release to answer for (default: the newest in the results; with "
                                       "--source, the newest whose Python is on PATH)")
    parser.add_argument("--shape", type=parse_shape, metavar="Z,Y,X",
                        help="your tomograms' shape in voxels: the answer measured at that size where the run "
                             "measured it (184,630,630 or 128,128,128), else scaled from the nearest size, marked ≈")
    parser.add_argument("--use", type=parse_uses, default=mixed_use.DEFAULT_USES, metavar="USE,USE",
                        help="the use cases of the mixed-use row, among " + ", ".join(sorted(USE_NAMES))
                             + " (default: viewer,particles,training)")


def parse_shape(text: str) -> tuple[int, int, int]:
    try:
        return scaling.parse(text)
    except scaling.ShapeError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def parse_uses(text: str) -> tuple[str, ...]:
    """``"viewer,particles,training"`` -> the use case keys."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in USE_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown use {', '.join(unknown) or '(none)'}; choose from "
                                         f"{', '.join(sorted(USE_NAMES))}, e.g. --use viewer,particles,training")
    return tuple(dict.fromkeys(USE_NAMES[n] for n in names))


def answers_for(results: ReportResults, zarr_version=None, shape=None) -> list[Answer]:
    """Every use case's answer at ``shape`` (default: portal size where measured): measured, or scaled."""
    sizes = recommend.measured_sizes(results)
    if not sizes:
        return []
    if shape is None:
        return recommend.recommend(results, zarr_version, sizes[0])
    measured = {}
    for size in sizes:
        found = recommend.recommend(results, zarr_version, size)
        volume = results.volume(found[0].data) if found else None
        if volume is not None:
            measured[size] = (volume.shape, found)
    if not measured:
        raise ReportError("the results record no volume shapes (no provenance beside them), so --shape cannot "
                          "scale them; rerun the benchmarks, or drop --shape")
    size = scaling.nearest({k: v[0] for k, v in measured.items()}, shape)
    measured_shape, found = measured[size]
    return recommend.compare_rows([scaling.scale(a, measured_shape, shape) for a in found])


def render(results: ReportResults, zarr_version: str | None = None, shape=None,
           uses=mixed_use.DEFAULT_USES) -> str:
    """The answer as Markdown (what ``recommend`` prints and the README shows)."""
    from zarr_cryoet.answer import notes as answer_notes

    answers = answers_for(results, zarr_version, shape)
    if not answers:
        raise ReportError(f"the results of commit {results.short_commit} hold no reads recommend ranks (chunking, "
                          "realistic); run python3 tasks.py benchmark first")
    out = [recommend.run_label(results, answers), ""]
    out += [f"* {line}" for line in answer_limits.covers(results, answers)] + [""]
    mixed = mixed_use.line(answers, uses)
    if mixed:
        out += [mixed, ""]
    out.append(recommend.table(answers, results, short=False))
    if answers[0].scaled_to:
        out += ["", f"Scaled to {'×'.join(map(str, answers[0].scaled_to))} from the measured "
                    f"{answers[0].data} ({scaling.RULE})."]
    out.append("")
    notes = answer_notes.extras(results, zarr_version, answers)
    threads = every_core_line(results, zarr_version)
    mine = in_place.line(results, answers, zarr_version)  # an s3:// source's own store, read where it is
    out += [f"* {line}" for line in ([mine] if mine else []) + ([threads] if threads else []) + notes]
    out += [f"* {line}" for line in not_run(results, answers)]
    if answers[0].size == PORTAL and SMALL in recommend.measured_sizes(results):
        out.append("* The same table at 128³ on one core (the suite's fast tier, which carries the release history): "
                   "`zarr-cryoet recommend --shape 128,128,128`.")
    if results.other_machines:
        out.append(f"* Answered from machine {results.machine}; also in {results.results_dir}: results of machine(s) "
                   f"{', '.join(results.other_machines)}; answer from them with --machine NAME.")
    return "\n".join(out) + "\n"


def not_run(results: ReportResults, answers: list[Answer] = ()) -> list[str]:
    """One line per module of the use cases that is in the suite but did not run (``asv run --bench``): the use
    cases left out, or that ``answers`` (the table) answer them from another tier (a focused run's whole volume)."""
    from zarr_cryoet.report import left_out

    missing = left_out(results)
    answered = {a.use_case.key: a.use_case.reads_at(a.size)[0][0].partition(".")[0] for a in answers}
    lines = []
    for module in dict.fromkeys(read.partition(".")[0] for u in recommend.USE_CASES
                                for size in (PORTAL, SMALL) for read, _ in u.reads_at(size)):
        if module in missing:
            uses = [u for u in recommend.USE_CASES
                    if any(read.startswith(module + ".") for size in (PORTAL, SMALL) for read, _ in u.reads_at(size))]
            left = [u.title.split(" (")[0] for u in uses if u.key not in answered]
            elsewhere = sorted({answered[u.key] for u in uses if u.key in answered})
            text = f"Not in this run: no {module} results for commit {results.short_commit}"
            if left:
                text += f"; left out: its reads of {', '.join(left)}"
            if elsewhere:
                text += f"; {'the other' if left else 'its'} use cases are answered above from {', '.join(elsewhere)}"
            lines.append(text + ".")
    return lines


def every_core_line(results: ReportResults, zarr_version: str | None = None) -> str | None:
    """The reads of 128³ on every core against one core (``chunking.ReadEveryCore`` against ``chunking.Read``)."""
    from zarr_cryoet.stats.compare import adjust, compare, versus_text

    if CHUNKING.read("time_read_full", every_core=True) not in results.param_names:
        return None
    env = recommend.choose_env(results, zarr_version)
    cores = results.machine_info().get("num_cpu")
    parts = []
    for operation, method in (("full read", "time_read_full"), ("XY plane", "time_read_slice_xy")):
        cells = []
        for data in results.choices("chunking", "data"):
            for chunks in results.choices(CHUNKING.every_core, "chunks") or results.choices("chunking", "chunks"):
                fmt = implied_format(chunks)
                every = results.estimate(env, CHUNKING.read(method, every_core=True), data=data, chunks=chunks)
                one = results.estimate(env, CHUNKING.read(method), data=data, chunks=chunks, zarr_format=fmt)
                if every and one:
                    cells.append((every, f"{layout_label(chunks, fmt)}", compare(one, every)))
        tests = adjust([c for *_, c in cells])
        texts = [(every.value, f"{label} {every} ({versus_text(c)} one core's)")
                 for (every, label, _), c in zip(cells, tests)]
        if texts:
            parts.append(f"{operation}: " + ", ".join(text for _, text in sorted(texts)))
    if not parts:
        return None
    return (f"Threads: at 128³ on every core ({cores or 'all'} here) instead of one, fastest first — "
            + "; ".join(parts) + f"; zarr {env.zarr_version}.")

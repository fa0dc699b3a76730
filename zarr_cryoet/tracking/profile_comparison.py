"""Where the time went: a flagged benchmark profiled at the culprit commit and at its parent, compared.

:func:`profile_pair` runs the benchmark once at each commit under cProfile (``asv run --quick --profile`` into
a results directory of its own, so the history keeps only real timings) and :func:`compare` ranks functions
by how much their cumulative time grew. Cumulative time grows in a function and in every caller above it
alike, so a caller whose growth lies (for at least :data:`FOLD` of it) inside one function it calls is
folded into that callee: what remains are the places the time went, deepest first where they tie. The
comparison is written as Markdown (for the nightly report) and as a bar figure.
"""

from __future__ import annotations

import pstats
from dataclasses import dataclass, field
from pathlib import Path

#: a caller is folded into a callee that holds at least this share of its growth
FOLD = 0.9
#: functions shown, at most
TOP = 10
#: and only those holding at least this share of the whole growth
SMALLEST = 0.01


@dataclass(frozen=True)
class Growth:
    function: str  # "name (file.py:line)"
    before_ms: float
    after_ms: float

    @property
    def delta_ms(self) -> float:
        return self.after_ms - self.before_ms

    @property
    def percent(self) -> float | None:
        return self.delta_ms / self.before_ms * 100 if self.before_ms > 0 else None


@dataclass
class Comparison:
    benchmark: str
    parent: str
    culprit: str
    total_before_ms: float
    total_after_ms: float
    growths: list[Growth]
    figure: Path | None = None
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"Where the time went (`{self.benchmark}`, one call under cProfile at each commit: "
                 f"{self.total_before_ms:.1f} ms at {self.parent[:8]} → {self.total_after_ms:.1f} ms at "
                 f"{self.culprit[:8]}; callers folded into the callee that holds their growth):", "",
                 "| function | cumulative before | after | growth |", "|---|---|---|---|"]
        for g in self.growths:
            percent = f"{g.percent:+.0f} %" if g.percent is not None else "new"
            lines.append(f"| `{g.function}` | {g.before_ms:.2f} ms | {g.after_ms:.2f} ms | "
                         f"+{g.delta_ms:.2f} ms ({percent}) |")
        if self.figure is not None:
            lines += ["", f"Figure: `{self.figure}`"]
        lines += [f"*{note}*" for note in self.notes]
        return "\n".join(lines)


def _function(key: tuple) -> tuple[str, str]:
    """A function as (file name, function name): line numbers move with any edit above a function, so two
    commits' profiles are matched without them."""
    filename, _, name = key
    return ("", name) if filename == "~" else (Path(filename).name, name)


def label(key: tuple) -> str:
    filename, line, name = key
    return name if filename == "~" else f"{name} ({Path(filename).name}:{line})"


def _cumulative(stats: pstats.Stats) -> tuple[dict, dict, dict]:
    """Cumulative seconds per function, per (caller, callee) edge, and a label for each function."""
    stats.calc_callees()
    totals, edges, labels = {}, {}, {}
    for key, value in stats.stats.items():
        function = _function(key)
        totals[function] = totals.get(function, 0.0) + value[3]
        labels.setdefault(function, label(key))
    for caller, callees in stats.all_callees.items():
        inner = edges.setdefault(_function(caller), {})
        for callee, timing in callees.items():
            inner[_function(callee)] = inner.get(_function(callee), 0.0) + timing[3]
    return totals, edges, labels


def compare(before: pstats.Stats, after: pstats.Stats, top: int = TOP) -> list[Growth]:
    """The functions whose cumulative time grew most, callers folded into their callees (module docstring)."""
    old, old_edges, _ = _cumulative(before)
    new, new_edges, labels = _cumulative(after)
    grown = {f: t - old.get(f, 0.0) for f, t in new.items() if t > old.get(f, 0.0)}
    whole = max(grown.values(), default=0.0)
    shown = []
    for function, delta in grown.items():
        inner = max((t - old_edges.get(function, {}).get(callee, 0.0)
                     for callee, t in new_edges.get(function, {}).items()), default=0.0)
        if inner >= FOLD * delta or delta < SMALLEST * whole:
            continue  # the growth is inside a callee (shown there), or too small to matter
        shown.append(Growth(labels[function], old.get(function, 0.0) * 1e3, new[function] * 1e3))
    return sorted(shown, key=lambda g: -g.delta_ms)[:top]


def total_ms(stats: pstats.Stats) -> float:
    return stats.total_tt * 1e3


def draw(comparison: Comparison, path: Path) -> Path:
    """Horizontal bars: each shown function's growth in ms, labelled with its per cent."""
    from zarr_cryoet.report.style import new_figure, save_figure

    growths = list(reversed(comparison.growths))
    fig, ax = new_figure(figsize=(9, 0.45 * max(len(growths), 2) + 1.6),
                         title=f"Where the time went: {comparison.benchmark}")
    ax.barh(range(len(growths)), [g.delta_ms for g in growths], color="#c0392b")
    ax.set_yticks(range(len(growths)), [g.function for g in growths], fontsize=8)
    for i, g in enumerate(growths):
        ax.annotate(f" +{g.delta_ms:.1f} ms ({g.percent:+.0f} %)" if g.percent is not None else
                    f" +{g.delta_ms:.1f} ms (new)", (g.delta_ms, i), va="center", fontsize=8)
    ax.set_xlim(0, max([g.delta_ms for g in growths], default=1) * 1.45)
    ax.set_xlabel("growth of cumulative time, culprit against parent (ms, one call)")
    ax.set_title(f"{comparison.parent[:8]} → {comparison.culprit[:8]}: {comparison.total_before_ms:.1f} → "
                 f"{comparison.total_after_ms:.1f} ms under cProfile; callers folded into callees", fontsize=9)
    save_figure(fig, path)
    return path


def profile_pair(run, results_dir: Path, machine: str, env: str, benchmark: str, parent: str, culprit: str,
                 figure_dir: Path) -> Comparison:
    """Profile ``benchmark`` (with parameters) at ``parent`` and ``culprit`` in ``env`` and compare them.

    ``run(commits, asv_args)`` runs ``asv run`` with a config whose results go to ``results_dir`` (not the
    history's). A commit without a profile (the benchmark failed there) gives a comparison without rows and
    a note saying so.
    """
    from asv.results import iter_results_for_machine

    from zarr_cryoet.tracking.alarm import bench_arguments

    run([parent, culprit], ["--quick", "--profile", *bench_arguments([benchmark])])
    stats = {}
    for result in iter_results_for_machine(str(results_dir), machine):
        key = benchmark.partition("(")[0]
        if result.env_name == env and result.commit_hash in (parent, culprit) and result.has_profile(key):
            stats[result.commit_hash] = result.get_profile_stats(key)
    if len(stats) < 2:
        missing = ", ".join(c[:8] for c in (parent, culprit) if c not in stats)
        return Comparison(benchmark, parent, culprit, 0.0, 0.0, [],
                          notes=[f"No profile at {missing}: the benchmark did not run there."])
    comparison = Comparison(benchmark, parent, culprit, total_ms(stats[parent]), total_ms(stats[culprit]),
                            compare(stats[parent], stats[culprit]))
    comparison.figure = draw(comparison, figure_dir / f"profile-{culprit[:8]}.png")
    return comparison


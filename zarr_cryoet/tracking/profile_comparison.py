"""Where the time went: a flagged benchmark profiled at the culprit commit and at its parent, compared.

:func:`profile_pair` samples the benchmark at each commit on every thread (py-spy,
:mod:`zarr_cryoet.tracking.thread_profile`: zarr 3 decodes and does its I/O on threads of its own, which
cProfile cannot see) and :func:`compare_profiles` ranks functions by how much their own time per call grew
(the samples where a function was itself running, on any thread: time a callee accounts for is the callee's).
The comparison is written as Markdown (for the nightly report) and as a bar figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from zarr_cryoet.util import markdown

#: functions shown, at most
TOP = 10
#: and only those holding at least this share of the whole growth (sampling puts a little in many functions)
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
        lines = [f"Where the time went (`{self.benchmark}`, sampled on every thread at each commit: "
                 f"{self.total_before_ms:.1f} ms per call at {self.parent[:8]} → {self.total_after_ms:.1f} ms at "
                 f"{self.culprit[:8]}; a function's own time, on any thread):", "",
                 *markdown.table(["function", "own time per call before", "after", "growth"])]
        for g in self.growths:
            percent = f"{g.percent:+.0f} %" if g.percent is not None else "new"
            lines.append(markdown.row([f"`{g.function}`", f"{g.before_ms:.2f} ms", f"{g.after_ms:.2f} ms",
                                       f"+{g.delta_ms:.2f} ms ({percent})"]))
        if self.figure is not None:
            lines += ["", f"Figure: `{self.figure}`"]
        lines += [f"*{note}*" for note in self.notes]
        return "\n".join(lines)


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
    ax.set_xlabel("growth of own time on any thread, culprit against parent (ms per call)")
    ax.set_title(f"{comparison.parent[:8]} → {comparison.culprit[:8]}: {comparison.total_before_ms:.1f} → "
                 f"{comparison.total_after_ms:.1f} ms per call, sampled on every thread", fontsize=9)
    save_figure(fig, path)
    return path


def compare_profiles(before, after, top: int = TOP) -> list[Growth]:
    """The functions whose own time per call grew most between two
    :class:`~zarr_cryoet.tracking.thread_profile.ThreadProfile` (every thread, sampled): where the work went,
    deepest first by construction (a function's own time is the time no callee of it accounts for). Equal
    growths (equal sample counts) by name: the order does not depend on the order py-spy wrote its stacks in."""
    grown = {f: after.own_ms(f) - before.own_ms(f) for f in after.own if after.own_ms(f) > before.own_ms(f)}
    whole = math.fsum(grown.values())  # exactly rounded: the same whatever the order of the functions
    shown = [Growth(f, before.own_ms(f), after.own_ms(f)) for f, delta in grown.items() if delta >= SMALLEST * whole]
    return sorted(shown, key=lambda g: (-g.delta_ms, g.function))[:top]


def profile_pair(run, conf: dict, env: str, benchmark: str, parent: str, culprit: str,
                 figure_dir: Path) -> Comparison:
    """Sample ``benchmark`` (with parameters) on every thread at ``parent`` and at ``culprit`` in ``env``
    (:mod:`zarr_cryoet.tracking.thread_profile`) and compare them.

    ``run(commits, asv_args)`` runs ``asv run`` with a config whose results go to a directory of their own (not
    the history's): each commit is installed into the environment and its setup cache built before it is sampled.
    A commit that cannot be sampled (the benchmark failed there) gives a comparison without rows and a note."""
    from zarr_cryoet.tracking import thread_profile
    from zarr_cryoet.tracking.alarm import bench_arguments
    from zarr_cryoet.asv.process import environment_dirs

    profiles, notes = {}, []
    for commit in (parent, culprit):
        run([commit], ["--quick", *bench_arguments([benchmark])])
        env_path = environment_dirs(Path(conf["env_dir"])).get(env)
        try:
            if env_path is None:
                raise RuntimeError(f"no environment {env} under {conf['env_dir']}")
            profiles[commit] = thread_profile.sample(
                str(env_path / "bin" / "python"), benchmark, Path(conf["benchmark_dir"]),
                {"ASV_ENV_DIR": str(env_path), "ASV_ENV_NAME": env, "ASV_COMMIT": commit})
        except RuntimeError as error:
            notes.append(f"No profile at {commit[:8]}: {error}.")
    if len(profiles) < 2:
        return Comparison(benchmark, parent, culprit, 0.0, 0.0, [], notes=notes)
    before, after = profiles[parent], profiles[culprit]
    comparison = Comparison(benchmark, parent, culprit, before.ms_per_call, after.ms_per_call,
                            compare_profiles(before, after))
    comparison.figure = draw(comparison, figure_dir / f"profile-{culprit[:8]}.png")
    return comparison

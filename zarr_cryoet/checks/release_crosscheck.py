"""``zarr-cryoet crosscheck``: the headline results and release ratios of an asv run, timed again outside asv.

For every asv environment (``.asv/env/*``: one zarr release each) this writes the phantom's stores
with that environment's zarr, then times the headline operations with the plain loop
(:mod:`zarr_cryoet.checks.plain_loop`): the same statistic, the same processes and samples per
operation and the same interleaving of the releases as the suite, in the allocator states asked
for (default: pinned, as the suite runs). The table sets each value next to asv's, each with its
interval (:mod:`zarr_cryoet.stats.estimate`), and each zarr 3 ÷ zarr 2 ratio next to asv's, each with
the suite's comparison rule's verdict (:mod:`zarr_cryoet.stats.compare`: the rank test of the two
releases' processes, measured interleaved in one run): where they agree, the suite's headline is the
library's behaviour, not the harness's.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

from zarr_cryoet.checks import prepare
from zarr_cryoet.checks.plain_loop import STATES, Job, environments, run_schedule
from zarr_cryoet.stats import schedule as schedules
from zarr_cryoet.stats.compare import compare, versus_text
from zarr_cryoet.stats.estimate import Estimate
from zarr_cryoet.store.stores import Layout
from zarr_cryoet.util import markdown

#: release ratios of the plain loop and asv that differ by more than this are marked
AGREEMENT = 0.10


@dataclass(frozen=True)
class Case:
    """One headline operation and the asv benchmark that measures it."""

    size: str  # the phantom spec: "128" or "184x630x630"
    operation: str  # full, xy or write
    chunks: str
    benchmark: str
    params: dict
    data: str

    @property
    def layout(self) -> Layout:
        return Layout.from_spec("blosc-zstd", self.chunks, 2)

    @property
    def label(self) -> str:
        what = {"full": "full read", "xy": "XY plane", "write": "write"}[self.operation]
        return f"{self.data.replace(' float32', '')}: {what}, {self.chunks} v2"

    @property
    def schedule(self) -> dict:
        """The suite's schedule for this operation (the 128³ benchmarks on one core, the portal-sized ones on all)."""
        if self.size == "128":
            return schedules.WRITE if self.operation == "write" else schedules.QUICK_READ
        return schedules.LONG if self.operation == "write" else schedules.SLOW


SMALL, LARGE = "phantom 128³ float32", "phantom 184x630x630 float32"
CASES = [
    Case("128", "xy", "64x64x64", "chunking.Read.time_read_slice_xy", {"chunks": "64x64x64", "zarr_format": 2}, SMALL),
    Case("128", "full", "64x64x64", "chunking.Read.time_read_full", {"chunks": "64x64x64", "zarr_format": 2}, SMALL),
    Case("128", "full", "16x16x16", "chunking.Read.time_read_full", {"chunks": "16x16x16", "zarr_format": 2}, SMALL),
    Case("128", "full", "128x128x128", "chunking.Read.time_read_full",
         {"chunks": "128x128x128", "zarr_format": 2}, SMALL),
    Case("128", "write", "64x64x64", "compression.Write.time_write", {"codec": "blosc-zstd", "zarr_format": 2}, SMALL),
    Case("184x630x630", "xy", "64x64x64", "realistic.Read.time_read_slice_xy",
         {"chunks": "64x64x64", "zarr_format": 2}, LARGE),
    Case("184x630x630", "full", "64x64x64", "realistic.Read.time_read_full",
         {"chunks": "64x64x64", "zarr_format": 2}, LARGE),
    Case("184x630x630", "write", "64x64x64", "realistic.Write.time_write", {"chunks": "64x64x64", "zarr_format": 2},
         LARGE),
]

def run(env_dir, *, sizes=("128", "184x630x630"), states=("pinned",), log=print) -> dict:
    """The plain loop's statistic: ``{(zarr version, case label, state): (Estimate, faults per call)}``."""
    jobs = []
    with contextlib.ExitStack() as stack:
        for env in environments(env_dir):
            for size in sizes:
                cases = [c for c in CASES if c.size == size]
                layouts = list({c.layout.slug: c.layout for c in cases}.values())
                work = stack.enter_context(prepare.prepared(env, size, layouts, state="loaded"))
                for case in cases:
                    for state in states:
                        if state == "wrote first" and case.operation == "write":
                            continue
                        jobs.append(Job((env.zarr, case.label, state), env, prepare.store(work, case.layout),
                                        case.operation, prepare.volume(work), case.schedule, case.layout,
                                        cores="one" if size == "128" else "all", state=state))
        timings = run_schedule(jobs, log=log)
    measured = {key: (found.estimate, found.faults_per_call) for key, found in timings.items()}
    for (zarr, label, state), (found, faults) in sorted(measured.items()):
        log(f"zarr {zarr:<7} {label:<55} {state:<12} {str(found):<34} {faults:8.0f} faults/call")
    return measured


def table(measured: dict, results=None) -> str:
    """Markdown: asv's value next to the plain loop's, per case and zarr, each with its interval; then the zarr 3 ÷
    zarr 2 ratios, each with the rank test of its two releases' processes."""
    from zarr_cryoet.util.versions import version_key

    zarrs = sorted({z for z, _, _ in measured}, key=version_key)
    states = [s for s in STATES if any(k[2] == s for k in measured)]
    lines = markdown.table(["case", "zarr", "asv", *(f"plain, {s}" for s in states), "asv ÷ plain"])
    asv = {}
    for case in CASES:
        for zarr in zarrs:
            plain = {s: measured.get((zarr, case.label, s)) for s in states}
            if not any(plain.values()):
                continue
            asv[(zarr, case.label)] = asv_estimate(results, zarr, case.benchmark, data=case.data, **case.params)
            first = plain[states[0]][0] if plain[states[0]] else None
            cells = [_text(plain[s][0]) if plain[s] else "–" for s in states]
            found = asv[(zarr, case.label)]
            lines.append(markdown.row([case.label, zarr, _text(found), *cells, _ratio(found, first, found and found.band)]))
    old = zarrs[0] if zarrs else None
    if old and old.startswith("2."):
        lines += ["", f"zarr 3 ÷ zarr {old}, per case: asv and the plain loop ({states[0]}), each with the rank test "
                      f"of its two releases' processes; whether the ratios agree within {AGREEMENT:.0%}, and whether the "
                      "test gives both the same verdict (slower, faster or ~)", "",
                  *markdown.table(["case", "zarr", "asv", "plain", "plain ÷ asv", f"within {AGREEMENT:.0%}",
                                   "same verdict"])]
        for case in CASES:
            for zarr in zarrs[1:]:
                new, base = measured.get((zarr, case.label, states[0])), measured.get((old, case.label, states[0]))
                a_new, a_base = asv.get((zarr, case.label)), asv.get((old, case.label))
                plain = _ratio(new and new[0], base and base[0])
                suite = _ratio(a_new, a_base)
                if plain == suite == "–":
                    continue
                if new and base and a_new and a_base:
                    quotient = (new[0].value / base[0].value) / (a_new.value / a_base.value)
                    same = compare(base[0], new[0]).verdict == compare(a_base, a_new).verdict
                    agree = [f"{quotient:.2f}", "yes" if abs(quotient - 1) <= AGREEMENT else "**no**",
                             "yes" if same else "**no**"]
                else:
                    agree = ["–"] * 3
                lines.append(markdown.row([case.label, zarr, suite, plain, *agree]))
    return "\n".join(lines)


def asv_estimate(results, zarr: str, benchmark: str, *, data=None, data_prefix: str | None = None, **params):
    """asv's value of one cell of the environment of zarr release ``zarr``, as an
    :class:`~zarr_cryoet.stats.estimate.Estimate` (its processes where the run recorded samples, else one); None
    where there is none. ``data_prefix`` picks the first data label of the benchmark's module that starts
    with it."""
    if results is None:
        return None
    if data_prefix is not None:
        module = benchmark.partition(".")[0]
        data = next((d for d in results.choices(module, "data") if str(d).startswith(data_prefix)), None)
        if data is None:
            return None
    for env in results.envs:
        if env.zarr_version == zarr:
            value = results.value(env, benchmark, data=data, **params)
            if not (isinstance(value, float) and math.isfinite(value)):
                return None
            return results.estimate(env, benchmark, data=data, **params) or Estimate(value, (value,), 1)
    return None


def _text(found) -> str:
    return "–" if found is None else str(found)


def _ratio(a, b, margin=None) -> str:
    """``a ÷ b`` with the rank test of their processes (``3.20× (p = 0.008, 5 v 5)``); ``margin``: the machine's
    run-to-run band, where the two come from different runs."""
    if a is None or b is None or not b.value:
        return "–"
    return versus_text(compare(b, a, margin=margin))

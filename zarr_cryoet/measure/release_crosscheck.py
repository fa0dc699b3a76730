"""``zarr-cryoet crosscheck``: the headline results and release ratios of an asv run, timed again outside asv.

For every asv environment (``.asv/env/*``: one zarr release each) this writes the phantom's stores
with that environment's zarr, then times the headline operations with the plain loop
(:mod:`zarr_cryoet.measure.plain_loop`): the same statistic, the same processes and samples per
operation and the same interleaving of the releases as the suite, in the allocator states asked
for (default: pinned, as the suite runs). The table sets each value next to asv's, and each zarr 3 ÷
zarr 2 ratio next to asv's, with their precisions: where they agree, the suite's headline is the
library's behaviour, not the harness's.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

from zarr_cryoet.measure import statistic
from zarr_cryoet.measure.plain_loop import STATES, Job, environments, prepared, run_schedule
from zarr_cryoet.report.precision import plus_minus, ratio_precision
from zarr_cryoet.store.stores import Layout

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
            return statistic.WRITE if self.operation == "write" else statistic.QUICK_READ
        return statistic.LONG if self.operation == "write" else statistic.SLOW


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

_PREPARE = """
import sys, numpy as np
from zarr_cryoet.data.phantom_cache import load_phantom
from zarr_cryoet.store.stores import Layout, parse_chunks, write_store
out, size = sys.argv[1], sys.argv[2]
volume = load_phantom(parse_chunks(size)).volume
np.save(f"{out}/volume.npy", volume)
for spec in sys.argv[3:]:
    layout = Layout.from_spec("blosc-zstd", spec, 2)
    write_store(f"{out}/{layout.slug}", volume, layout)
"""


def run(env_dir, *, sizes=("128", "184x630x630"), states=("pinned",), log=print) -> dict:
    """The plain loop's statistic: ``{(zarr version, case label, state): (Estimate, faults per call)}``."""
    jobs = []
    with contextlib.ExitStack() as stack:
        for env in environments(env_dir):
            for size in sizes:
                cases = [c for c in CASES if c.size == size]
                work = stack.enter_context(prepared(env, _PREPARE, size, *sorted({c.chunks for c in cases}),
                                                    state="loaded"))
                for case in cases:
                    for state in states:
                        if state == "wrote first" and case.operation == "write":
                            continue
                        jobs.append(Job((env.zarr, case.label, state), env, work / case.layout.slug, case.operation,
                                        work / "volume.npy", case.schedule, case.layout,
                                        cores="one" if size == "128" else "all", state=state))
        timings = run_schedule(jobs, log=log)
    measured = {key: (found.estimate, found.faults_per_call) for key, found in timings.items()}
    for (zarr, label, state), (found, faults) in sorted(measured.items()):
        log(f"zarr {zarr:<7} {label:<55} {state:<12} {found.value * 1e3:9.2f} ms {found.plus_minus():>6}  "
            f"{faults:8.0f} faults/call")
    return measured


def table(measured: dict, results=None) -> str:
    """Markdown: asv's value next to the plain loop's, per case and zarr; then the zarr 3 ÷ zarr 2 ratios."""
    from zarr_cryoet.tracking.asv_config import version_key

    zarrs = sorted({z for z, _, _ in measured}, key=version_key)
    states = [s for s in STATES if any(k[2] == s for k in measured)]
    lines = ["| case | zarr | asv (ms) | " + " | ".join(f"plain, {s} (ms)" for s in states) + " | asv ÷ plain |",
             "|---|---|---|" + "---|" * len(states) + "---|"]
    asv = {}
    for case in CASES:
        for zarr in zarrs:
            plain = {s: measured.get((zarr, case.label, s)) for s in states}
            if not any(plain.values()):
                continue
            asv[(zarr, case.label)] = asv_estimate(results, zarr, case.benchmark, data=case.data, **case.params)
            first = plain[states[0]][0] if plain[states[0]] else None
            cells = [_ms(plain[s][0]) if plain[s] else "–" for s in states]
            lines.append(f"| {case.label} | {zarr} | {_ms(asv[(zarr, case.label)])} | {' | '.join(cells)} | "
                         f"{_ratio(asv[(zarr, case.label)], first)} |")
    old = zarrs[0] if zarrs else None
    if old and old.startswith("2."):
        lines += ["", f"zarr 3 ÷ zarr {old}, per case: asv and the plain loop ({states[0]}); whether they agree within "
                      f"±{AGREEMENT:.0%}, and within the two ratios' precision", "",
                  "| case | zarr | asv | plain | plain ÷ asv | within ±10 % | within their ± |",
                  "|---|---|---|---|---|---|---|"]
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
                    precision = ratio_precision(new[0].relative_width, base[0].relative_width, a_new.relative_width,
                                                a_base.relative_width) or 0.0
                    agree = (f"{quotient:.2f} | {'yes' if abs(quotient - 1) <= AGREEMENT else '**no**'} | "
                             f"{'yes' if abs(quotient - 1) <= precision else '**no**'}")
                else:
                    agree = "– | – | –"
                lines.append(f"| {case.label} | {zarr} | {suite} | {plain} | {agree} |")
    return "\n".join(lines)


def asv_estimate(results, zarr: str, benchmark: str, *, data=None, data_prefix: str | None = None, **params):
    """asv's value of one cell of the environment of zarr release ``zarr``, as a :class:`statistic.Estimate`
    (its interval where the run recorded samples); None where there is none. ``data_prefix`` picks the first
    data label of the benchmark's module that starts with it."""
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
            low, high = results.interval(env, benchmark, data=data, **params) or (value, value)
            return statistic.Estimate(value, low, high, 0, 0)
    return None


def _ms(found) -> str:
    if found is None:
        return "–"
    return f"{found.value * 1e3:.2f}{plus_minus(found.relative_width) if found.high > found.low else ''}"


def _ratio(a, b) -> str:
    if a is None or b is None or not b.value:
        return "–"
    precision = ratio_precision(a.relative_width, b.relative_width)
    return f"{a.value / b.value:.2f}{plus_minus(precision)}"

"""``zarr-cryoet crosscheck``: the headline results of an asv run, timed again by a plain loop outside asv.

For every asv environment (``.asv/env/*``: one zarr release each) this writes the phantom's
stores with that environment's zarr, then times the headline operations in fresh
processes of its Python (:mod:`zarr_cryoet.measure.crosscheck`) in the three allocator
states, and prints them next to asv's medians for the same benchmarks, with the zarr 3 ÷
zarr 2 ratios both ways. Where the asv number and the plain loop in the pinned state
agree, and the ratio does not flip between states, the suite's headline is the library's
behaviour, not the harness's.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from zarr_cryoet.measure.crosscheck import STATES, child_environment, measure_in_fresh_process
from zarr_cryoet.store.stores import Layout


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
from zarr_cryoet.data.phantom import make_phantom
from zarr_cryoet.store.stores import Layout, write_store
from zarr_cryoet.store.stores import parse_chunks
out, size = sys.argv[1], sys.argv[2]
volume = make_phantom(parse_chunks(size)).volume
np.save(f"{out}/volume.npy", volume)
for spec in sys.argv[3:]:
    layout = Layout.from_spec("blosc-zstd", spec, 2)
    write_store(f"{out}/{layout.slug}", volume, layout)
"""


def environments(env_dir) -> list[tuple[str, Path]]:
    """(zarr version, python) of every asv environment under ``env_dir``, oldest zarr first."""
    found = []
    for info in sorted(Path(env_dir).glob("*/asv-env-info.json")):
        zarr = json.loads(info.read_text()).get("requirements", {}).get("zarr")
        python = info.parent / "bin" / "python"
        if zarr and python.exists():
            found.append((zarr, python))
    return sorted(found, key=lambda p: tuple(int(x) for x in p[0].split(".") if x.isdigit()))


def run(env_dir, *, reads: int = 10, sizes=("128", "184x630x630"), log=print) -> dict:
    """Plain-loop medians: ``{(zarr version, case label, state): result dict}``."""
    measured = {}
    for zarr, python in environments(env_dir):
        for size in sizes:
            cases = [c for c in CASES if c.size == size]
            work = Path(tempfile.mkdtemp(prefix="zarr-cryoet-crosscheck-"))
            try:
                specs = sorted({c.chunks for c in cases})
                subprocess.run([str(python), "-c", _PREPARE, str(work), size, *specs], check=True,
                               env=child_environment("loaded"), capture_output=True, text=True)
                for case in cases:
                    states = STATES if case.operation != "write" else ("pinned", "loaded")
                    for state in states:
                        n = reads if case.size == "128" else max(3, reads // 3)
                        # like the suite: the 128³ benchmarks on one core, the realistic tier on all
                        result = measure_in_fresh_process(work / case.layout.slug, case.operation,
                                                          work / "volume.npy", n, state=state, python=str(python),
                                                          layout=case.layout,
                                                          cores="one" if size == "128" else "all")
                        measured[(zarr, case.label, state)] = result
                        log(f"zarr {zarr:<7} {case.label:<55} {state:<12} {result['median'] * 1e3:9.2f} ms  "
                            f"{result['faults_per_read']:8.0f} faults/call")
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return measured


def table(measured: dict, results=None) -> str:
    """Markdown: asv's median next to the plain loop's, per case and zarr; then the zarr 3 ÷ zarr 2 ratios."""
    zarrs = sorted({z for z, _, _ in measured}, key=lambda v: tuple(int(x) for x in v.split(".")))
    lines = ["| case | zarr | asv (ms) | plain, pinned (ms) | plain, loaded (ms) | plain, wrote first (ms) "
             "| asv ÷ plain pinned |", "|---|---|---|---|---|---|---|"]
    asv_values = {}
    for case in CASES:
        for zarr in zarrs:
            plain = {s: measured.get((zarr, case.label, s)) for s in STATES}
            if not any(plain.values()):
                continue
            value = _asv_value(results, zarr, case)
            asv_values[(zarr, case.label)] = value
            cells = [_ms(plain[s]["median"]) if plain[s] else "–" for s in STATES]
            ratio = value / plain["pinned"]["median"] if plain["pinned"] and _ok(value) else math.nan
            lines.append(f"| {case.label} | {zarr} | {_ms(value)} | {' | '.join(cells)} | "
                         f"{'–' if math.isnan(ratio) else f'{ratio:.2f}'} |")
    old = zarrs[0] if zarrs else None
    if old and old.startswith("2."):
        lines += ["", f"zarr 3 ÷ zarr {old}, per case: asv | plain pinned | plain loaded | plain wrote first", "",
                  "| case | zarr | asv | pinned | loaded | wrote first |", "|---|---|---|---|---|---|"]
        for case in CASES:
            for zarr in zarrs[1:]:
                cells = [_ratio(asv_values.get((zarr, case.label)), asv_values.get((old, case.label)))]
                for state in STATES:
                    new, base = measured.get((zarr, case.label, state)), measured.get((old, case.label, state))
                    cells.append(_ratio(new and new["median"], base and base["median"]))
                if any(c != "–" for c in cells):
                    lines.append(f"| {case.label} | {zarr} | {' | '.join(cells)} |")
    return "\n".join(lines)


def _asv_value(results, zarr: str, case: Case):
    return asv_median(results, zarr, case.benchmark, data=case.data, **case.params)


def asv_median(results, zarr: str, benchmark: str, *, data=None, data_prefix: str | None = None, **params) -> float:
    """asv's result for one cell of the environment of zarr release ``zarr`` (NaN where there is none);
    ``data_prefix`` picks the first data label of the benchmark's module that starts with it."""
    if results is None:
        return math.nan
    if data_prefix is not None:
        module = benchmark.partition(".")[0]
        data = next((d for d in results.choices(module, "data") if str(d).startswith(data_prefix)), None)
        if data is None:
            return math.nan
    for env in results.envs:
        if env.zarr_version == zarr:
            value = results.value(env, benchmark, data=data, **params)
            return value if _ok(value) else math.nan
    return math.nan


def _ok(value) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _ms(value) -> str:
    return f"{value * 1e3:.2f}" if _ok(value) else "–"


def _ratio(a, b) -> str:
    return f"{a / b:.2f}" if _ok(a) and _ok(b) and b else "–"


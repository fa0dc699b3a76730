"""Instruction counts beside the times, from the recorded counting run (recorded/counts) and the recorded timings."""

import json
from collections import Counter
from pathlib import Path

import pytest

from zarr_cryoet.report import instructions, report
from zarr_cryoet.asv.families import INSTRUCTIONS
from zarr_cryoet.asv.results import ReportResults

pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parent.parent
COUNTS, TIMES = ROOT / "recorded" / "counts", ROOT / "recorded" / "results"


@pytest.fixture(scope="module")
def loaded():
    return ReportResults.load(COUNTS, machine="vm"), ReportResults.load(TIMES, machine="vm")


def test_every_counted_benchmark_names_a_timing_of_the_suite():
    counted = [n for n in json.loads((COUNTS / "benchmarks.json").read_text()) if INSTRUCTIONS.counts(n)]
    timed = json.loads((TIMES / "benchmarks.json").read_text())
    assert len(counted) == 11 and all(INSTRUCTIONS.timed(name) in timed for name in counted), counted


def test_at_least_sixty_timings_per_release_have_their_count_and_their_time(loaded):
    rows = instructions.count_rows(*loaded)
    per_release = Counter(r["zarr_version"] for r in rows)
    assert set(per_release) == {"2.18.7", "3.1.6", "3.4.2"} and min(per_release.values()) >= 60, per_release
    assert all(r["instructions_vs_oldest"] == 1.0 for r in rows if r["zarr_version"] == "2.18.7")
    timed = [r for r in rows if r["time_ms"] != ""]
    assert len(timed) >= 0.9 * len(rows)  # the recorded timings have (almost) every counted case


def test_the_release_line_sets_work_beside_time(loaded):
    line = instructions.release_line(instructions.count_rows(*loaded))
    assert line.startswith("zarr 3.1.6 executes ") and "the instructions of 2.18.7 for a 16³ full read" in line
    assert "its time ratio on this machine" in line and "zarr 3.4.2 executes" in line


def test_the_report_writes_the_counts_table_and_figure(loaded, tmp_path):
    counts, times = loaded
    written = report(out=tmp_path, results=times, counts=counts, warn=lambda message: None)
    assert tmp_path / instructions.INSTRUCTIONS_CSV in written
    assert (tmp_path / instructions.INSTRUCTIONS_PNG).stat().st_size > 20_000
    header = (tmp_path / instructions.INSTRUCTIONS_CSV).read_text().splitlines()[0]
    assert header.startswith("benchmark,codec,chunks,zarr_format,pattern,instructions_millions,")


def test_the_command_prints_the_headline_table():
    text = instructions.render(COUNTS, TIMES, machine="vm")
    assert "| full, 16³ chunks | " in text and "| write, 64³ chunks | " in text
    assert text.rstrip().splitlines()[-1].startswith("zarr 3.1.6 executes")


def test_the_docs_count_proof_table_is_what_the_recorded_runs_give():
    import subprocess
    import sys

    table = subprocess.run([sys.executable, str(ROOT / "tools" / "count_proof.py"), "analyse"], check=True,
                           capture_output=True, text=True).stdout.strip().splitlines()
    docs = (ROOT / "docs" / "measurement.md").read_text()
    assert len(table) >= 4 and all(line in docs for line in table), table

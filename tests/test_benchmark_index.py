"""benchmarks/INDEX.md (tools/benchmark_index.py): current, asv's names exactly, and every line a ``def``."""

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import benchmark_index  # noqa: E402

pytestmark = pytest.mark.once

ROW = re.compile(r"^\| `(?P<name>[\w.]+)` \| (?P<params>[^|]+) \| (?P<path>[\w/.]+):(?P<line>\d+) "
                 r"\| (?P<class_at>\S+) \|$")


def index_rows() -> dict:
    rows = [ROW.match(line) for line in benchmark_index.INDEX.read_text().splitlines() if line.startswith("| `")]
    assert all(rows), "every benchmark row of INDEX.md has the index's four columns"
    return {row["name"]: row for row in rows}


def test_the_index_is_current(capsys):
    assert benchmark_index.main(["--check"]) == 0, capsys.readouterr().err


def test_an_outdated_index_names_the_command(tmp_path, capsys):
    stale = tmp_path / "INDEX.md"
    stale.write_text(benchmark_index.INDEX.read_text().replace("time_read_slice_xy", "time_read_slice_xx"))
    assert benchmark_index.main(["--check"], index=stale) == 1
    message = capsys.readouterr().err
    assert message.count("\n") == 1 and "out of date" in message and benchmark_index.COMMAND in message
    assert benchmark_index.main([], index=stale) == 0
    assert benchmark_index.main(["--check"], index=stale) == 0


def test_every_name_is_one_asv_discovers_and_every_benchmark_is_in_it(tmp_path):
    """Against asv's own discovery command (what ``asv run`` runs in each environment): names and parameters."""
    from asv import runner

    out = tmp_path / "discovered.json"
    subprocess.run([sys.executable, runner.BENCHMARK_RUN_SCRIPT, "discover", str(benchmark_index.BENCHMARKS),
                    str(out)], cwd=tmp_path, check=True)
    discovered = {b["name"]: ", ".join(b["param_names"]) or "-" for b in json.loads(out.read_text())}
    indexed = {name: row["params"] for name, row in index_rows().items()}
    assert indexed == discovered
    assert "chunking.Read.time_read_slice_xy" in indexed
    assert "instructions.ChunkingRead.track_instructions_read_full" in indexed


def test_every_line_holds_the_def_of_the_benchmarks_function():
    from asv_runner.discovery import disc_benchmarks

    benchmark_index.discover()  # imports benchmarks/ as asv does
    functions = {b.name: inspect.unwrap(getattr(b.func, "__func__", b.func))
                 for b in disc_benchmarks(str(benchmark_index.BENCHMARKS))}
    for name, row in index_rows().items():
        function = functions[name]
        path, line = ROOT / row["path"], int(row["line"])
        assert Path(inspect.getsourcefile(function)).resolve() == path.resolve(), name
        source = path.read_text().splitlines()
        assert re.match(rf"\s*(async\s+)?def {function.__code__.co_name}\(", source[line - 1]), (name, source[line - 1])
        if row["class_at"] != "-":  # the class statement, or the assignment of the call that made the class
            class_path, class_line = row["class_at"].rsplit(":", 1)
            bound = (ROOT / class_path).read_text().splitlines()[int(class_line) - 1]
            assert re.match(rf"(class {name.split('.')[-2]}\b|\w+\s*=)", bound), (name, bound)

"""Partial runs and several machines never crash ``report`` or ``recommend`` (issue 23 §4).

``asv run --bench chunking`` leaves results of one module; a focused run adds a machine. A module
that did not run is left out, with one line naming it. The results here are the recorded full run
(``recorded/results``) with modules taken out of every result file, in turn.
"""

import functools
import io
import json
import shutil
import socket
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

import pytest
from matplotlib.figure import Figure

import zarr_cryoet.report as report_module
from zarr_cryoet.report import sections as report_sections
from zarr_cryoet import cli
from zarr_cryoet.answer import recommend as recommend_module
from zarr_cryoet.asv.results import ReportResults
from zarr_cryoet.report.style import close_figure

# the report on recorded asv results: the same under every zarr, so CI runs it under the newest only
pytestmark = pytest.mark.once

RECORDED = Path(__file__).parent.parent / "recorded"


def recorded_modules() -> list[str]:
    """The asv modules with results in the recorded run (compression, chunking, access …)."""
    found = set()
    for path in (RECORDED / "results" / "vm").glob("*.json"):
        if path.name != "machine.json":
            found |= {key.partition(".")[0] for key in json.loads(path.read_text())["results"]}
    return sorted(found)


MODULES = recorded_modules()
#: (name, the modules kept): each module left out in turn, each alone, and ``--bench compression --bench chunking``
CASES = ([(f"without-{m}", tuple(x for x in MODULES if x != m)) for m in MODULES]
         + [(f"only-{m}", (m,)) for m in MODULES] + [("compression+chunking", ("compression", "chunking"))])
#: the modules whose reads the use cases of recommend rank
USE_CASE_MODULES = sorted({read.partition(".")[0] for use in recommend_module.USE_CASES
                           for read, _ in use.reads + tuple(getattr(use, "at_size", ()))})
#: the cases that draw the lossy figures (seconds each: label placement, codec round trips); they read the lossy
#: results alone, so the other cases leave them out (the Pareto figure blank, the slices and FSC not loaded)
LOSSY_DRAWN = ("only-lossy",)
#: the cases whose figures are drawn into pixels; the others build every figure (all of the report's own code)
#: and close it undrawn: drawing is most of a report's time, and each module's figures are drawn when it ran
#: alone, and those that show the raw-file limit without it
DRAWN = tuple(f"only-{m}" for m in MODULES) + ("compression+chunking", "without-limits")
#: the output folders that belong to one module alone: nothing is written there without its results
OWN_FOLDER = {"compression": "cryoet_benchmarks", "chunking": "chunking_benchmarks", "access": "access_patterns",
              "engines": "engines", "lossy": "lossy"}


def write_results(root: Path, kept, machine: str = "vm") -> Path:
    """The recorded run under ``root/results`` (provenance and noise profile beside it) with the results of
    ``kept`` modules only, as machine ``machine``."""
    results = root / "results"
    if not results.exists():
        results.mkdir(parents=True)
        shutil.copy(RECORDED / "results" / "benchmarks.json", results)
        for beside in ("provenance", "noise"):
            shutil.copytree(RECORDED / beside, root / beside)
    target = results / machine
    shutil.copytree(RECORDED / "results" / "vm", target)
    doc = json.loads((target / "machine.json").read_text())
    (target / "machine.json").write_text(json.dumps({**doc, "machine": machine}))
    for path in target.glob("*.json"):
        if path.name != "machine.json":
            doc = json.loads(path.read_text())
            doc["results"] = {k: v for k, v in doc["results"].items() if k.partition(".")[0] in kept}
            path.write_text(json.dumps(doc))
    return results


@pytest.fixture(scope="module")
def partial(tmp_path_factory):
    """name -> the results directory of that case, built once per module (and xdist worker)."""
    built = {}

    def get(name):
        if name not in built:
            built[name] = write_results(tmp_path_factory.mktemp(name), dict(CASES)[name])
        return built[name]

    return get


def built_only(fig, path, dpi=None) -> Path:
    """:func:`~zarr_cryoet.report.style.save_figure` without the drawing: an empty file, the figure closed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    close_figure(fig)
    return path


def run_cli(*argv) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        status = cli.main(list(argv))
    return status, stdout.getvalue(), stderr.getvalue()


@functools.lru_cache(maxsize=None)
def load(results_dir: Path) -> ReportResults:
    """The results in ``results_dir``, loaded once per xdist worker: report and recommend read the same."""
    return LOAD(results_dir)


LOAD = ReportResults.load


@functools.lru_cache(maxsize=None)
def recommended(results_dir: Path) -> tuple[int, str, str]:
    """``zarr-cryoet recommend --results RESULTS_DIR`` (its results loaded once per worker), run once per worker."""
    with mock.patch.object(ReportResults, "load", lambda path=None, machine=None, commit=None: load(Path(path))):
        return run_cli("recommend", "--results", str(results_dir))


def naming(lines, module: str) -> list[str]:
    return [line for line in lines if f"no {module} results" in line]


@pytest.mark.parametrize("name,kept", CASES, ids=[name for name, _ in CASES])
def test_report_leaves_out_each_module_that_did_not_run_in_one_line(name, kept, partial, tmp_path, monkeypatch):
    if name not in LOSSY_DRAWN:
        monkeypatch.setattr(report_sections, "load_volume", lambda *args: None)
        monkeypatch.setattr(report_sections, "build_pareto_figure", lambda *args: Figure(figsize=(1, 1)))
    if name not in DRAWN:
        monkeypatch.setattr(report_sections, "save_figure", built_only)
    loaded = load(partial(name))
    warnings = []
    written = report_module.report(out=tmp_path / "out", dpi=40, warn=warnings.append, results=loaded)
    short = loaded.short_commit
    for module in MODULES:
        if module in kept:
            assert not naming(warnings, module), warnings
        else:
            assert len(naming(warnings, module)) == 1, (module, warnings)
            assert f"commit {short}" in naming(warnings, module)[0]
            if module in OWN_FOLDER:
                assert not (tmp_path / "out" / OWN_FOLDER[module]).exists()
    assert written and all(Path(p).is_file() for p in written)
    assert all("\n" not in w for w in warnings)


@pytest.mark.parametrize("name", ["without-" + m for m in MODULES] + ["only-chunking", "compression+chunking"])
def test_recommend_answers_from_what_ran(name, partial):
    status, out, err = recommended(partial(name))
    assert status == 0, err
    assert "machine vm" in out, out


@pytest.mark.parametrize("module", USE_CASE_MODULES)
def test_recommend_names_each_use_case_module_that_did_not_run(module, partial):
    name = f"without-{module}"
    if name not in dict(CASES):
        pytest.skip(f"the recorded run has no {module} results")
    status, out, err = recommended(partial(name))
    assert status == 0, err
    assert len(naming((out + err).splitlines(), module)) == 1, out + err


@pytest.mark.parametrize("module", sorted(set(MODULES) - set(USE_CASE_MODULES)))
def test_recommend_without_any_use_case_module_says_so_in_one_line(module, partial):
    status, out, err = recommended(partial(f"only-{module}"))
    if status != 0:  # nothing to rank: one line naming what is missing, no traceback
        assert err.startswith("zarr-cryoet: error: ") and err.count("\n") == 1, err
        assert "chunking" in err, err


@pytest.fixture(scope="module")
def two_machines(tmp_path_factory):
    """One results directory, two machines: vm ran chunking alone, other compression and access."""
    root = tmp_path_factory.mktemp("two-machines")
    write_results(root, ("chunking",), machine="vm")
    return write_results(root, ("compression", "access"), machine="other")


@pytest.mark.parametrize("host", ["vm", "elsewhere"])  # elsewhere: the newest results, other's
def test_two_machines_are_never_mixed_and_the_one_used_is_named(host, two_machines, tmp_path, monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: host)
    used = ReportResults.load(two_machines)
    assert used.machine in ("vm", "other") and (host == "elsewhere" or used.machine == host)
    (other,) = used.other_machines
    kept = {"vm": {"chunking"}, "other": {"compression", "access"}}[used.machine]
    assert {m for m in MODULES if used.has(m)} == kept  # nothing of the other machine mixed in

    status, out, err = run_cli("report", "--results", str(two_machines), "--out", str(tmp_path / "out"))
    assert status == 0, err
    assert f"machine {used.machine}" in out and f"results of machine(s) {other}" in out, out
    for module in MODULES:
        assert len(naming(err.splitlines(), module)) == (module not in kept), (module, err)

    status, out, err = run_cli("recommend", "--results", str(two_machines))
    if status == 0 or "chunking" in kept:
        assert status == 0 and f"machine {used.machine}" in out, out + err
    else:  # nothing to rank on the machine used: one line
        assert err.startswith("zarr-cryoet: error: ") and err.count("\n") == 1, err


def test_recommend_names_the_other_machines(two_machines, monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "vm")
    status, out, err = run_cli("recommend", "--results", str(two_machines))
    assert status == 0, err
    assert "machine vm" in out and "results of machine(s) other" in out + err, out + err

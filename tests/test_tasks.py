"""tasks.py stops on bad input before asv runs: one line on stderr, exit status 2, nothing touched."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tasks

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ("SOURCE", "SIZE", "OFFSET", "LEVEL", "PORTAL_URL")


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(f"ZARR_CRYOET_{name}", raising=False)
    monkeypatch.delenv(tasks.REQUIRE_ALL_PYTHONS_ENV, raising=False)
    monkeypatch.setenv("ZARR_CRYOET_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def commands(monkeypatch, clean_env, tmp_path):
    """Every command tasks.py would run (asv, nox, zarr-cryoet nightly), recorded instead of run.

    What tasks.py does itself happens under ``tmp_path``, not in this checkout: its clean-up after a run
    removes the setup caches in ``.asv/``, which a real asv run beside these tests (the ``asv`` session)
    is using."""
    ran = []
    monkeypatch.setattr(tasks, "ensure_venv", lambda *extra: None)
    monkeypatch.setattr(tasks, "run", lambda cmd, env: ran.append(cmd) or 0)
    monkeypatch.setattr(tasks, "ROOT", tmp_path)
    return ran


def closed_port_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/graphql"


def one_error_line(capsys, *phrases) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("[tasks] error: "), captured.err
    assert "Traceback" not in captured.err and captured.out == "", captured.out
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("settings, phrases", [
    ({"SOURCE": "bogus:1"}, ["$ZARR_CRYOET_SOURCE", "unknown data source 'bogus:1'", "use phantom"]),
    ({"SIZE": "big"}, ["$ZARR_CRYOET_SIZE", "bad crop size 'big'", "give one or three integers"]),
    ({"OFFSET": "1,2"}, ["$ZARR_CRYOET_OFFSET", "bad crop offset '1,2'"]),
    ({"LEVEL": "x"}, ["$ZARR_CRYOET_LEVEL", "bad multiscale level 'x'", "whole number"]),
    ({"PORTAL_URL": "graphql.example"}, ["$ZARR_CRYOET_PORTAL_URL", "not an http(s) URL"]),
    ({"SOURCE": "mrc:/no/such/tomogram.mrc"}, ["/no/such/tomogram.mrc does not exist"]),
    ({"SOURCE": "portal:10445", "PORTAL_URL": None}, ["the crop is not cached and cannot reach the CryoET Data Portal",
                                                      "zarr-cryoet fetch --source portal:10445"]),
])
@pytest.mark.parametrize("task", ["benchmark", "nightly"])
def test_bad_settings_stop_before_asv(task, settings, phrases, commands, monkeypatch, capsys):
    for name, value in settings.items():
        monkeypatch.setenv(f"ZARR_CRYOET_{name}", value or closed_port_url())
    monkeypatch.setattr(tasks, "provide_pythons", lambda: pytest.fail("asv's Pythons were looked for"))
    assert tasks.main([task, "--quick"]) == 2
    one_error_line(capsys, *phrases)
    assert commands == []  # no asv machine, run or publish; no nightly


def test_good_settings_go_on_to_asv(commands, monkeypatch, capsys):
    monkeypatch.setenv("ZARR_CRYOET_SOURCE", "phantom:32")
    monkeypatch.setattr(tasks, "provide_pythons", lambda: (dict(os.environ), []))
    assert tasks.main(["benchmark", "--quick"]) == 0
    assert "[tasks] data: phantom 32³ float32" in capsys.readouterr().out
    assert [cmd[1] for cmd in commands[:4]] == ["machine", "run", "restate", "publish"]
    run = commands[1]
    assert "--interleave-rounds" in run and "--record-samples" in run  # every run of the suite interleaves and keeps samples


@pytest.mark.parametrize("cores, halves", [([0, 1], True), ([0], False)])
def test_the_default_run_uses_both_cores_in_two_steps(cores, halves, commands, monkeypatch):
    """On two cores the default run is the whole-machine tier, then the one-core tier as two halves at once
    (zarr-cryoet both-cores), then the racing; on one core, or told a core, one asv run of the default selection."""
    monkeypatch.setattr(tasks, "provide_pythons", lambda: (dict(os.environ), []))
    monkeypatch.setattr(tasks.matrix.asv_config, "available_cores", lambda: cores)
    assert tasks.main(["benchmark"]) == 0
    steps = [cmd[1] if cmd[1] != "run" else "run " + cmd[cmd.index("--bench") + 1] for cmd in commands]
    whole, default = tasks.matrix.asv_config.WHOLE_MACHINE_BENCH, tasks.matrix.DEFAULT_BENCH
    assert steps[:5] == (["machine", f"run {whole}", "both-cores", "decide", "restate"] if halves else
                         ["machine", f"run {default}", "decide", "restate", "publish"])
    commands.clear()
    assert tasks.main(["benchmark", "--cpu-affinity", "0"]) == 0
    assert "both-cores" not in [cmd[1] for cmd in commands]


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "zarr-cryoet").exists(), reason="needs .venv")
def test_the_command_line_with_a_bogus_source_touches_nothing(tmp_path):
    """The newcomer's mistake, as typed: one line, exit 2, no asv machine and no results for it."""
    stamp = ROOT / ".venv" / ".zarr-cryoet-installed"
    command = [sys.executable, str(ROOT / "tasks.py")]
    if not stamp.exists() or stamp.read_text() != tasks.hashlib.sha256(b"".join(
            (ROOT / f).read_bytes() for f in ("setup.cfg", "pyproject.toml"))).hexdigest():
        # .venv is out of date and tasks.py would reinstall it first: the same, without that step
        command = [sys.executable, "-c", "import sys, tasks; tasks.ensure_venv = lambda *extra: None; "
                   "sys.exit(tasks.main(sys.argv[1:]))"]
    results = ROOT / ".asv" / "results"
    before = set(results.iterdir()) if results.is_dir() else set()
    env = {**os.environ, "HOME": str(tmp_path), "ZARR_CRYOET_SOURCE": "bogus:1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([*command, "benchmark", "--quick"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "[tasks] error: $ZARR_CRYOET_SOURCE: unknown data source 'bogus:1'; use phantom, phantom:SIZE, "
        "portal:DATASET[/RUN], mrc:PATH, zarr:PATH_OR_URL, s3://BUCKET/KEY or halves:EVEN,ODD (two of mrc:/zarr:/s3://)"]
    assert not (tmp_path / ".asv-machine.json").exists()
    assert (set(results.iterdir()) if results.is_dir() else set()) == before


def other_pythons() -> list[str]:
    """The matrix Pythons tasks.py has to find (all but the one running it)."""
    others = [v for v in tasks.matrix.pythons() if v != "%d.%d" % sys.version_info[:2]]
    if not others:
        pytest.skip("the matrix has no Python other than this one")
    return others


def unavailable(version, **kwargs):
    raise tasks.interpreters.InterpreterUnavailable(
        f"no Python {version} found and it can only be built automatically as root on Debian; "
        f"install python{version} and put it on PATH")


def test_ci_fails_when_a_matrix_python_is_missing(commands, monkeypatch, capsys):
    monkeypatch.setattr(tasks.interpreters, "provide", unavailable)
    monkeypatch.setenv(tasks.REQUIRE_ALL_PYTHONS_ENV, "1")
    first = other_pythons()[0]
    zarrs = [z for py, z in tasks.matrix.zarr_matrix() if py == first]
    assert tasks.main(["test"]) == 2
    line = one_error_line(capsys, f"no Python {first} found", f"install python{first} and put it on PATH",
                          f"zarr {', '.join(zarrs)} needs it", tasks.REQUIRE_ALL_PYTHONS_ENV)
    assert commands == [], line


def test_elsewhere_a_missing_python_skips_its_environments(commands, monkeypatch, capsys):
    monkeypatch.setattr(tasks.interpreters, "provide", unavailable)
    others = other_pythons()
    env, missing = tasks.provide_pythons()
    assert missing == others
    assert f"WARNING: no Python {others[0]} found" in capsys.readouterr().out
    monkeypatch.setenv(tasks.REQUIRE_ALL_PYTHONS_ENV, "0")  # "0" does not require them either
    assert tasks.provide_pythons()[1] == others


def test_ci_requires_every_python():
    assert f"export {tasks.REQUIRE_ALL_PYTHONS_ENV}=1" in (ROOT / ".ci" / "run").read_text()


def test_recommend_needs_the_matrix_pythons_only_for_a_focused_run(commands, monkeypatch):
    """python3 tasks.py recommend answers from results at once; with --source it first provides the
    Pythons asv needs for the focused run, as benchmark does."""
    looked = []
    monkeypatch.setattr(tasks, "provide_pythons", lambda: looked.append(1) or (dict(os.environ), []))
    assert tasks.main(["recommend"]) == 0
    assert commands[-1][1:] == ["recommend"] and commands[-1][0].endswith("zarr-cryoet") and looked == []
    assert tasks.main(["recommend", "--source", "mrc:/data/t.mrc"]) == 0
    assert commands[-1][1:] == ["recommend", "--source", "mrc:/data/t.mrc"] and looked == [1]


def test_the_test_task_runs_the_asv_session_beside_the_tests_and_the_nightly_tests_alone(commands, monkeypatch,
                                                                                          capsys):
    """``tests`` and ``asv`` side by side (asv's output kept and printed once it ends), then ``nightly`` alone;
    a failure of any is the task's; naming a session runs nox as told."""
    monkeypatch.setattr(tasks, "provide_pythons", lambda: (dict(os.environ), []))
    started = []

    class Background:
        def __init__(self, cmd, stdout, **kwargs):
            started.append((cmd, len(commands)))
            stdout.write("asv session output\n")

        def wait(self):
            return 1  # the asv session failed

        def poll(self):
            return 1

    monkeypatch.setattr(tasks.subprocess, "Popen", Background)
    monkeypatch.setattr(tasks, "record_time", lambda *args: None)  # it asks git for the commit (a Popen)
    assert tasks.main(["test"]) == 1
    assert [cmd[1:] for cmd, _ in started] == [["-s", "asv"]] and started[0][1] == 0  # started before the tests
    assert [cmd[1:] for cmd in commands] == [["-s", "tests"], ["-s", "nightly"]]
    out = capsys.readouterr().out
    assert "asv session output" in out and "[tasks] sessions: tests passed, asv FAILED (1), nightly passed" in out
    commands.clear()
    assert tasks.main(["test", "-s", "nightly"]) == 0
    assert [cmd[1:] for cmd in commands] == [["-s", "nightly"]] and len(started) == 1


def test_the_two_commands_record_their_time_and_commit_for_the_readme(commands, monkeypatch, tmp_path, capsys):
    """``benchmark`` and ``test`` run as the README gives them write .asv/command-times/<task>.json (the commit,
    the wall time, a fresh clone or not, the status); with arguments they record nothing; zarr-cryoet
    command-times prints them for the README's generated block."""
    import json

    from zarr_cryoet.report import command_times

    monkeypatch.setattr(tasks, "benchmark", lambda extra: 0)
    monkeypatch.setattr(tasks, "test", lambda extra: 1)
    monkeypatch.setattr(tasks, "STARTED", tasks.time.monotonic() - 125)
    assert tasks.main(["benchmark"]) == 0 and tasks.main(["test"]) == 1
    records = tmp_path / ".asv" / "command-times"
    bench = json.loads((records / "benchmark.json").read_text())
    assert bench["command"] == "python3 tasks.py benchmark" and 125 <= bench["seconds"] < 200
    assert bench["status"] == 0 and "commit" in bench and bench["cores"] == os.cpu_count()
    assert json.loads((records / "test.json").read_text())["status"] == 1
    (records / "benchmark.json").unlink()
    assert tasks.main(["benchmark", "--quick"]) == 0 and not (records / "benchmark.json").exists()
    (records / "benchmark.json").write_text(json.dumps({**bench, "commit": "0123456789abcdef"}))
    text = command_times.render(records)
    assert text.splitlines()[0].startswith("* `python3 tasks.py benchmark`: 2 min 0") and "of 01234567 (" in text
    assert "exit status 1" in text.splitlines()[1]
    with pytest.raises(command_times.CommandTimesError, match="no command times"):
        command_times.render(tmp_path / "nowhere")

"""zarr-cryoet recommend --source: a focused asv run on one's own data, then the answer from it.

The checks before asv starts run everywhere; the focused run itself is real asv (marked ``asv``,
run by the nox asv session, which shares the built environments in .asv/env).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.asv_helpers import ROOT, matrix
from zarr_cryoet import cli
from zarr_cryoet.data import sources
from zarr_cryoet.asv import config as asv_config
from zarr_cryoet.tracking import focused_run


def _conf():
    return matrix.load_asv_conf()


def test_the_focused_config_keeps_one_environment_of_the_matrix_with_its_name(tmp_path):
    conf = focused_run.focused_config(_conf(), ROOT, "3.11", "2.18.7")
    assert asv_config.environments(conf) == [("3.11", "2.18.7")]
    # the same requirements as in the full matrix, so asv reuses that environment's directory
    assert conf["matrix"] == {"req": {"zarr": ["2.18.7"]}}
    assert all(Path(conf[key]).is_absolute() for key in asv_config.PATH_KEYS) and conf["repo"] == str(ROOT)


def test_the_newest_zarr_whose_python_is_here_is_chosen(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "python3.13" else f"/usr/bin/{name}")
    assert focused_run.choose_environment(_conf(), None) == ("3.11", "3.1.6")
    with pytest.raises(focused_run.FocusedRunError, match="no python3.13 on PATH; run through python3 tasks.py"):
        focused_run.choose_environment(_conf(), "3.4.2")
    with pytest.raises(focused_run.FocusedRunError, match="--zarr 9.9 is not in the asv matrix; choose one of"):
        focused_run.choose_environment(_conf(), "9.9")


@pytest.mark.parametrize("argv, phrase", [
    (["--source", "mrc:/nonexistent/t.mrc"], "/nonexistent/t.mrc does not exist"),
    (["--source", "tiff:x"], "unknown data source 'tiff:x'"),
    (["--source", "phantom", "--results", "x"], "--source runs a new benchmark and answers from it; drop --results"),
    (["--size", "64"], "--size only apply to a focused run; add --source DATA"),
    (["--source", "phantom", "--config", "missing.json"], "asv config missing.json not found"),
])
def test_bad_input_is_one_line_before_asv_starts(argv, phrase, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    before = sorted(p.name for p in (ROOT / ".asv").glob("focused-*"))
    assert cli.main(["recommend", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert phrase in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in (ROOT / ".asv").glob("focused-*")) == before  # no config left behind


@pytest.mark.asv
def test_a_focused_run_on_an_mrc_file_answers_from_its_own_results(tmp_path, monkeypatch, capsys):
    """Real asv on a small MRC file, --quick: results under the data's own machine name, the answer
    printed from them, and no temporary config left behind."""
    import mrcfile

    from zarr_cryoet.data.phantom import make_phantom

    path = tmp_path / "tomogram.mrc"
    with mrcfile.new(str(path)) as mrc:
        mrc.set_data(make_phantom((64, 80, 80), seed=5).volume)
        mrc.voxel_size = 8.0
    conf = _conf()
    conf.update(repo=str(ROOT), benchmark_dir=str(ROOT / "benchmarks"), env_dir=str(ROOT / ".asv" / "env"),
                results_dir=str(tmp_path / "results"), html_dir=str(tmp_path / "html"))
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps(conf))
    monkeypatch.chdir(ROOT)
    status = cli.main(["recommend", "--source", f"mrc:{path}", "--size", "64", "--quick", "--config", str(config)])
    out = capsys.readouterr().out
    assert status == 0, out[-3000:]
    machine = sources.SourceRequest.parse(f"mrc:{path}", size="64").machine_name()
    assert f"results under machine {machine}" in out
    table = out[out.index("One asv run:"):]
    assert f"machine {machine}" in table and f"mrc:{path} 64³@centre float32" in table
    for title in ("XY viewer", "orthogonal views", "particle picking", "whole-volume", "over HTTP"):
        assert f"| {title}" in table
    assert "* Lossless codec: **" in table and "* Lossy, keeping every voxel's information" in table
    assert [p.name for p in (tmp_path / "results").iterdir() if p.is_dir()] == [machine]
    assert not list(tmp_path.glob("focused-*.conf.json"))
    recorded = json.loads(next((tmp_path / "provenance").glob("mrc*.json")).read_text())
    assert recorded["voxel_size"] == [8.0, 8.0, 8.0] and recorded["shape"] == [64, 64, 64]

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
from zarr_cryoet.asv import config as asv_config, results as asv_results
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
    assert [p.name for p in (tmp_path / "results").iterdir() if p.is_dir() and p.name != focused_run.FOCUSED_DIR] \
        == [machine]
    assert focused_run.focused_machines(tmp_path / "results")[machine]["tier"] == focused_run.CROP  # 64³: one core
    assert not list(tmp_path.glob("focused-*.conf.json"))
    recorded = json.loads(next((tmp_path / "provenance").glob("mrc*.json")).read_text())
    assert recorded["voxel_size"] == [8.0, 8.0, 8.0] and recorded["shape"] == [64, 64, 64]


@pytest.mark.parametrize("spec, size, tier, spec_run", [
    ("mrc:/t.mrc", "full", focused_run.WHOLE, "mrc:/t.mrc"),
    ("mrc:/t.mrc", "128", focused_run.CROP, "mrc:/t.mrc"),
    ("mrc:/t.mrc", "256", focused_run.CROP, "mrc:/t.mrc"),
    ("mrc:/t.mrc", "184,630,630", focused_run.WHOLE, "mrc:/t.mrc"),  # larger than 256³: the use cases, every core
    ("phantom", "full", focused_run.WHOLE, "phantom"),  # the default phantom: the realistic tier's own volume
    ("phantom", "400,1000,1000", focused_run.WHOLE, "phantom:400x1000x1000"),  # measured at that size, not scaled
    ("phantom", "96", focused_run.WHOLE, "phantom:96x96x96"),
])
def test_the_size_decides_what_the_focused_run_measures(spec, size, tier, spec_run):
    request = focused_run.whole_volume(sources.SourceRequest.parse(spec, size=size))
    assert request.spec == spec_run and focused_run.tier(request) == tier


def _machine(results_dir: Path, name: str, focused: str | None = None) -> None:
    """A copy of the recorded run's machine under ``name``; ``focused``: marked as a focused run on that data."""
    shutil.copytree(ROOT / "recorded" / "results" / "vm", results_dir / name)
    machine_json = results_dir / name / "machine.json"
    machine_json.write_text(machine_json.read_text().replace('"vm"', json.dumps(name)))
    shutil.copy(ROOT / "recorded" / "results" / "benchmarks.json", results_dir / "benchmarks.json")
    if focused:
        (results_dir / focused_run.FOCUSED_DIR).mkdir(exist_ok=True)
        (results_dir / focused_run.FOCUSED_DIR / name).write_text(json.dumps({"data": focused, "tier": "whole"}))


def test_a_plain_recommend_answers_from_the_full_run_and_names_a_focused_run_only_when_asked(tmp_path, capsys):
    both, alone = tmp_path / "both", tmp_path / "alone"
    _machine(both, "vm")
    _machine(both, "zz-focused", focused="mrc:/t.mrc full@centre float32")  # the newest: asv's default otherwise
    assert cli.main(["recommend", "--results", str(both)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Answering from machine vm, not from the focused runs here: zz-focused (mrc:/t.mrc "
                          "full@centre float32); for one of those add --machine NAME")
    assert "machine vm (2 cores" in out.splitlines()[2]
    assert cli.main(["recommend", "--results", str(both), "--machine", "zz-focused"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Answering from the focused run on machine zz-focused (mrc:/t.mrc full@centre float32), "
                          "as asked.") and "machine zz-focused (2 cores" in out.splitlines()[2]
    _machine(alone, "zz-focused", focused="mrc:/t.mrc full@centre float32")
    assert cli.main(["recommend", "--results", str(alone)]) == 0
    assert capsys.readouterr().out.startswith(f"Answering from the focused run on machine zz-focused (mrc:/t.mrc "
                                              f"full@centre float32): {alone} holds no other run.")
    # without --results, only focused runs here: the run recorded in the repository
    assert focused_run.plain_results(None, None)[0] in (None, asv_results.DEFAULT_RESULTS, asv_results.RECORDED_RESULTS)


def test_an_s3_source_read_whole_is_also_read_in_place_from_its_object_store(tmp_path, monkeypatch):
    """realistic.InPlace reads the source's own store on its endpoint (moto on loopback), every read checked against
    the volume; the candidates (UseCases, UseCasesV3, the portal's 256³ clipped to the volume) are built from it."""
    from tests.test_benchmarks import drive, reload_suite
    from benchmarks import realistic
    from zarr_cryoet.data.phantom import make_phantom
    from zarr_cryoet.store import compat, stores
    from zarr_cryoet.store.compat import S3_ENDPOINT_ENV
    from zarr_cryoet.store.object_storage import BUCKET, S3Endpoint

    volume = make_phantom((64, 96, 96), seed=3).volume
    store = stores.write_store(tmp_path / "tomo.zarr", volume, stores.Layout.from_spec("blosc-zstd", "16x32x32", 2))
    try:
        with S3Endpoint() as s3:
            s3.put_tree(str(store), "lab/tomo.zarr")
            request = sources.SourceRequest.parse(f"s3://{BUCKET}/lab/tomo.zarr", size="full")
            for name, value in request.environment({}).items():
                if name.startswith("ZARR_CRYOET_"):
                    monkeypatch.setenv(name, value)
            monkeypatch.setenv(S3_ENDPOINT_ENV, s3.url)
            monkeypatch.setenv("ZARR_CRYOET_PROVENANCE_DIR", str(tmp_path / "provenance"))
            reload_suite()
            assert realistic.IN_PLACE and realistic.DATA == [request.identity()]
            (tmp_path / "cache").mkdir()
            monkeypatch.chdir(tmp_path / "cache")
            cache = realistic.setup_cache()
            data = realistic.DATA[0]
            portal = stores.Layout.from_spec("blosc-zstd", realistic.PORTAL_CHUNKS)
            assert portal in cache["stores"] and "64x96x96" in cache["stores"][portal]  # 256³ clipped to the volume
            s3.reset()
            for method in realistic.USE_CASE_READS:  # read in place: from the endpoint
                assert drive(realistic.InPlace, method, cache, (data,)) is None
            in_place = s3.traffic().requests["GET"]
            assert in_place >= len(realistic.USE_CASE_READS)
            for method in realistic.USE_CASE_READS:  # the candidates: from this machine's disk
                # format 3 needs zarr >= 3: on zarr 2 the class is a skip with its reason
                assert drive(realistic.UseCasesV3, method, cache, (data, "32x32x32")) == (
                    None if compat.ZARR_MAJOR >= 3 else "skipped")
                assert drive(realistic.UseCases, method, cache, (data, realistic.PORTAL_CHUNKS)) is None
            assert s3.traffic().requests["GET"] == in_place
    finally:
        monkeypatch.undo()
        reload_suite()


@pytest.mark.asv
def test_a_focused_run_on_an_s3_source_measures_the_whole_volume_in_place_and_on_both_formats(tmp_path, monkeypatch,
                                                                                              capsys):
    """Real asv, --quick, no --size: the use cases on the whole volume on every core (plain chunks on format 2 and 3,
    shards on 3) and the source's own store read in place from its object store; a plain recommend afterwards names
    the focused run it answers from."""
    from zarr_cryoet.data.phantom import make_phantom
    from zarr_cryoet.store import stores
    from zarr_cryoet.store.compat import S3_ENDPOINT_ENV
    from zarr_cryoet.store.object_storage import BUCKET, S3Endpoint

    store = stores.write_store(tmp_path / "tomo.zarr", make_phantom((64, 96, 96), seed=4).volume,
                               stores.Layout.from_spec("blosc-zstd", "32x32x32", 2))
    conf = _conf()
    conf.update(repo=str(ROOT), benchmark_dir=str(ROOT / "benchmarks"), env_dir=str(ROOT / ".asv" / "env"),
                results_dir=str(tmp_path / "results"), html_dir=str(tmp_path / "html"))
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps(conf))
    monkeypatch.chdir(ROOT)
    with S3Endpoint() as s3:
        s3.put_tree(str(store), "lab/tomo.zarr")
        monkeypatch.setenv(S3_ENDPOINT_ENV, s3.url)
        spec = f"s3://{BUCKET}/lab/tomo.zarr"
        status = cli.main(["recommend", "--source", spec, "--quick", "--config", str(config)])
        out = capsys.readouterr().out
    assert status == 0, out[-3000:]
    machine = sources.SourceRequest.parse(spec, size="full").machine_name()
    assert f"({'the whole volume, every core'}): results under machine {machine}" in out
    table = out[out.index("One asv run:"):]
    assert f"{spec} full@centre float32 (64×96×96" in table and "read on every core" in table
    for title in ("XY viewer", "orthogonal views", "particle picking", "subtomogram averaging", "whole-volume"):
        assert f"| {title}" in table
    assert " v3" in table and "* Your store as it is, read in place from its object store" in table
    assert focused_run.focused_machines(tmp_path / "results")[machine]["tier"] == focused_run.WHOLE
    assert cli.main(["recommend", "--results", str(tmp_path / "results")]) == 0
    assert capsys.readouterr().out.startswith(f"Answering from the focused run on machine {machine}")

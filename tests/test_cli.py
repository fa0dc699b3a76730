"""zarr-cryoet fetch / info and the data sources end to end, against loopback servers only.

A fake CryoET Data Portal (tests/fake_portal.py) answers the client's real
GraphQL queries; the tomogram's OME-Zarr is served over HTTP on 127.0.0.1
(tests/http_server.py). Nothing here touches the internet.
"""

import json
import os
import socket
import subprocess
import sys

import mrcfile
import numpy as np
import pytest

from tests.fake_portal import FakePortal
from tests.http_server import RecordingHTTPServer
from tests.ome_zarr import write_ome_zarr
from zarr_cryoet.data import crop_cache
from zarr_cryoet import cli
from zarr_cryoet.data import sources
from zarr_cryoet.data.phantom import phantom_volume

EDGE = 96  # level 0 of the served tomogram
SIZE = 64  # the crop


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/graphql"


@pytest.fixture(scope="module")
def tomogram_data():
    return phantom_volume(EDGE, seed=7)


@pytest.fixture(scope="module")
def zarr_server(tmp_path_factory, tomogram_data):
    root = tmp_path_factory.mktemp("portal-files")
    write_ome_zarr(root / "TS_100_3.zarr", tomogram_data, chunk_edge=EDGE)
    with RecordingHTTPServer(root) as server:
        yield server


@pytest.fixture(scope="module")
def portal(zarr_server):
    tomogram = {"id": 32, "run_id": 100, "size_x": EDGE, "size_y": EDGE, "size_z": EDGE,
                "voxel_spacing": 10.012, "processing": "denoised", "reconstruction_method": "WBP",
                "is_portal_standard": True, "https_omezarr_dir": f"{zarr_server.url}/TS_100_3.zarr",
                "s3_omezarr_dir": "s3://bucket/TS_100_3.zarr"}
    with FakePortal(datasets=[{"id": 10445}], runs=[{"id": 100, "dataset_id": 10445, "name": "TS_100_3"}],
                    tomograms=[tomogram]) as fake:
        yield fake


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(crop_cache.CACHE_ENV, str(tmp_path / "cache"))
    for var in (sources.SOURCE_ENV, sources.SIZE_ENV, sources.OFFSET_ENV, sources.LEVEL_ENV, sources.PORTAL_URL_ENV):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "cache" / "crops"


def fetch(portal_url, *extra):
    return cli.main(["fetch", "--source", "portal:10445", "--run", "TS_100_3", "--size", str(SIZE),
                     "--portal-url", portal_url, *extra])


def centre_crop(volume, size=SIZE):
    lo = [(n - size) // 2 for n in volume.shape]
    return volume[lo[0]:lo[0] + size, lo[1]:lo[1] + size, lo[2]:lo[2] + size]


def one_line_error(capsys, *phrases):
    err = capsys.readouterr().err.strip()
    assert err.startswith("zarr-cryoet: error: ") and "\n" not in err and "Traceback" not in err, err
    for phrase in phrases:
        assert phrase in err
    return err


def test_fetch_caches_the_crop_with_provenance(portal, zarr_server, tomogram_data, cache_dir, capsys):
    zarr_server.reset()
    assert fetch(portal.url) == 0
    out = capsys.readouterr().out
    assert "cached 64x64x64 float32 crop of tomogram 32 (dataset 10445, run TS_100_3)" in out
    (entry,) = [p for p in cache_dir.iterdir()]
    volume = np.load(entry / "volume.npy")
    assert np.array_equal(volume, centre_crop(tomogram_data))
    prov = json.loads((entry / "provenance.json").read_text())
    assert (prov["dataset_id"], prov["run_name"], prov["tomogram_id"]) == (10445, "TS_100_3", 32)
    assert prov["voxel_spacing"] == 10.012 and prov["crop"] == {"start": [16, 16, 16], "shape": [64] * 3}
    assert prov["sha256"] == crop_cache.sha256(volume)
    # Only the crop was read: one chunk of level 0 (the volume is a single chunk), no other level.
    chunk_gets = [r.path for r in zarr_server.requests if r.path.rsplit("/", 1)[-1][0].isdigit()]
    assert chunk_gets == ["/TS_100_3.zarr/0/0.0.0"]


def test_second_use_reads_the_cache_offline(portal, tomogram_data, capsys):
    assert fetch(portal.url) == 0
    offline = closed_port_url()
    request = sources.SourceRequest.parse("portal:10445/TS_100_3", size=SIZE, portal_url=offline)
    loaded = sources.load(request)
    assert np.array_equal(loaded.volume, centre_crop(tomogram_data))
    assert loaded.provenance["tomogram_id"] == 32
    assert cli.main(["info", "--source", "portal:10445/TS_100_3", "--size", str(SIZE),
                     "--portal-url", offline]) == 0
    out = capsys.readouterr().out
    for line in ("tomogram_id   32", "shape         (64, 64, 64)", "voxel size    10.012 Å", "Blosc-Zstd"):
        assert line in out


def test_benchmarks_read_the_source_from_the_environment(portal, monkeypatch, tomogram_data):
    assert fetch(portal.url) == 0
    monkeypatch.setenv(sources.SOURCE_ENV, "portal:10445/TS_100_3")
    monkeypatch.setenv(sources.SIZE_ENV, str(SIZE))
    monkeypatch.setenv(sources.PORTAL_URL_ENV, closed_port_url())
    request = sources.SourceRequest.from_env()
    assert request.identity() == "portal:10445/TS_100_3 64³@centre float32"
    assert np.array_equal(sources.load(request).volume, centre_crop(tomogram_data))


def nothing_cached(cache_dir):
    return not cache_dir.exists() or not any(cache_dir.iterdir())


def test_unreachable_portal(cache_dir, capsys):
    assert fetch(closed_port_url()) == 2
    one_line_error(capsys, "cannot reach the CryoET Data Portal", "use --source phantom or a cached crop")
    assert nothing_cached(cache_dir)


@pytest.mark.parametrize("source, run, phrase", [
    ("portal:99999", None, "dataset 99999 has no tomograms"),
    ("portal:10445", "TS_nope", "run 'TS_nope' not found in dataset 10445"),
])
def test_unknown_dataset_or_run(portal, source, run, phrase, cache_dir, capsys):
    args = ["fetch", "--source", source, "--size", str(SIZE), "--portal-url", portal.url]
    assert cli.main(args + (["--run", run] if run else [])) == 2
    one_line_error(capsys, phrase)
    assert nothing_cached(cache_dir)


def test_crop_larger_than_the_volume(portal, cache_dir, capsys):
    assert cli.main(["fetch", "--source", "portal:10445/TS_100_3", "--size", "128",
                     "--portal-url", portal.url]) == 2
    one_line_error(capsys, "larger than the volume")
    assert nothing_cached(cache_dir)


def test_an_interrupted_download_leaves_nothing_and_the_next_run_starts_clean(portal, cache_dir, monkeypatch,
                                                                               capsys):
    real_save = np.save

    def interrupted(path, *args, **kwargs):
        real_save(path, *args, **kwargs)  # a file is half-way into the cache ...
        raise KeyboardInterrupt           # ... when the user presses Ctrl-C

    monkeypatch.setattr(np, "save", interrupted)
    assert fetch(portal.url) == 130
    assert "interrupted; nothing was cached" in capsys.readouterr().err
    assert list(cache_dir.iterdir()) == []
    monkeypatch.setattr(np, "save", real_save)
    # A fetch killed outright (no cleanup) leaves a partial directory of a dead process behind.
    stale = cache_dir / ".partial-999999999-abc"
    stale.mkdir()
    (stale / "volume.npy").write_bytes(b"half")
    assert fetch(portal.url) == 0
    assert [p.name for p in cache_dir.iterdir()] == ["portal-10445-TS_100_3-64-centre"]


def test_a_corrupt_cache_is_reported_and_refresh_repairs_it(portal, cache_dir, capsys):
    assert fetch(portal.url) == 0
    (entry,) = list(cache_dir.iterdir())
    volume = np.load(entry / "volume.npy")
    volume[0, 0, 0] += 1
    np.save(entry / "volume.npy", volume)
    capsys.readouterr()
    assert cli.main(["info", "--source", "portal:10445/TS_100_3", "--size", str(SIZE)]) == 2
    one_line_error(capsys, "is corrupt", "zarr-cryoet fetch --refresh")
    assert fetch(portal.url, "--refresh") == 0
    assert crop_cache.read_cached(entry) is not None


def write_mrc(path, data):
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(data)
        mrc.voxel_size = 10.012
    return path


def test_info_on_an_mrc_file(tmp_path, capsys):
    data = phantom_volume(48, seed=3)
    path = write_mrc(tmp_path / "tomo.mrc", data)
    assert cli.main(["info", "--source", f"mrc:{path}", "--size", "32"]) == 0
    out = capsys.readouterr().out
    assert "shape         (32, 32, 32)" in out and "Blosc-LZ4" in out
    # it says which crop it measured, and how to choose another
    assert "measured      a crop of (32, 32, 32) voxels starting at (8, 8, 8) of the whole (48, 48, 48)" in out
    assert "--size full" in out
    assert np.array_equal(sources.load_source(f"mrc:{path}", size=32), centre_crop(data, 32))
    assert cli.main(["info", "--source", f"mrc:{path}", "--size", "full"]) == 0
    assert "measured      a crop" not in capsys.readouterr().out  # the whole volume: nothing to say


def test_zarr_source_over_http(zarr_server, tomogram_data):
    loaded = sources.load(sources.SourceRequest.parse(f"zarr:{zarr_server.url}/TS_100_3.zarr", size=32, offset="0,0,0"))
    assert np.array_equal(loaded.volume, tomogram_data[:32, :32, :32])
    assert loaded.provenance["level"] == 0


@pytest.mark.parametrize("make_args, phrases", [
    (lambda p: ["info", "--source", f"mrc:{p / 'nope.mrc'}"], ["nope.mrc"]),
    (lambda p: ["info", "--source", f"mrc:{p / 'junk.mrc'}"], ["MRC"]),
    (lambda p: ["info", "--source", f"mrc:{p / 'flat.mrc'}"], ["3-D"]),
    (lambda p: ["info", "--source", "tiff:x.tif"], ["unknown data source"]),
    (lambda p: ["info", "--source", "phantom:abc"], ["bad phantom size"]),
    (lambda p: ["info", "--source", "phantom", "--size", "1,2"], ["bad crop size"]),
    (lambda p: ["fetch", "--source", "phantom"], ["fetch downloads portal crops"]),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, make_args, phrases):
    (tmp_path / "junk.mrc").write_bytes(os.urandom(3000))
    write_mrc(tmp_path / "flat.mrc", np.zeros((16, 16), np.float32))
    assert cli.main(make_args(tmp_path)) == 2
    one_line_error(capsys, *phrases)


def test_viz_writes_the_three_figures(tmp_path, capsys):
    assert cli.main(["viz", "--source", "phantom:32", "--out", str(tmp_path / "viz")]) == 0
    written = sorted(p.name for p in (tmp_path / "viz").iterdir())
    assert written == ["cryoet_data_slices.png", "cryoet_distribution.png", "cryoet_quick_viz.png"]
    assert capsys.readouterr().out.count(".png") == 3


@pytest.mark.parametrize("command", [[], ["fetch"], ["info"], ["viz"]])
def test_help_on_every_subcommand(command):
    proc = subprocess.run([sys.executable, "-m", "zarr_cryoet.cli", *command, "--help"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "usage: zarr-cryoet" in proc.stdout


# -- check-source: what tasks.py runs before asv ------------------------------------------------

def check_source(monkeypatch, capsys, **settings):
    for name, value in settings.items():
        monkeypatch.setenv(f"ZARR_CRYOET_{name.upper()}", value)
    status = cli.main(["check-source", "--timeout", "5"])
    return status, capsys.readouterr()


def test_check_source_accepts_a_cached_crop_offline(portal, monkeypatch, capsys, cache_dir):
    assert fetch(portal.url) == 0
    capsys.readouterr()
    status, out = check_source(monkeypatch, capsys, source="portal:10445/TS_100_3", size=str(SIZE),
                               portal_url=closed_port_url())
    assert status == 0, out.err
    assert out.out.strip().splitlines() == [f"data: portal:10445/TS_100_3 64³@centre float32 "
                                            f"(cached in {cache_dir / 'portal-10445-TS_100_3-64-centre'})",
                                            f"machine: {socket.gethostname()}-portal-10445-TS-100-3-64-centre"]


def test_check_source_asks_the_portal_when_not_cached(portal, monkeypatch, capsys, cache_dir):
    status, out = check_source(monkeypatch, capsys, source="portal:10445/TS_100_3", size=str(SIZE),
                               portal_url=portal.url)
    assert status == 0, out.err
    assert "not cached yet: tomogram 32 of run TS_100_3 is read on first use" in out.out
    assert nothing_cached(cache_dir)  # a check loads nothing


@pytest.mark.parametrize("settings, phrases", [
    ({"source": "portal:10445/TS_nope"}, ["$ZARR_CRYOET_SOURCE=portal:10445/TS_nope", "run 'TS_nope' not found"]),
    ({"source": "portal:10445/TS_100_3", "size": "128"}, ["larger than the volume"]),
    ({"source": "portal:10445/TS_100_3", "portal_url": "unreachable"},
     ["the crop is not cached and cannot reach the CryoET Data Portal", "or use ZARR_CRYOET_SOURCE=phantom"]),
    ({"source": "portal:10445/TS_100_3", "level": "one"}, ["$ZARR_CRYOET_LEVEL: bad multiscale level 'one'"]),
])
def test_check_source_problems_are_one_line(portal, monkeypatch, capsys, cache_dir, settings, phrases):
    settings = {"portal_url": portal.url, **settings}
    if settings["portal_url"] == "unreachable":
        settings["portal_url"] = closed_port_url()
    status, out = check_source(monkeypatch, capsys, **settings)
    assert status == 2
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zarr-cryoet: error: $ZARR_CRYOET_"), out.err
    for phrase in phrases:
        assert phrase in lines[0]
    assert nothing_cached(cache_dir)


def test_check_source_of_local_files_and_servers(tmp_path, zarr_server, monkeypatch, capsys):
    path = write_mrc(tmp_path / "tomo.mrc", phantom_volume(32, seed=3))
    assert check_source(monkeypatch, capsys, source=f"mrc:{path}")[0] == 0
    assert check_source(monkeypatch, capsys, source=f"zarr:{zarr_server.url}/TS_100_3.zarr")[0] == 0
    status, out = check_source(monkeypatch, capsys, source=f"zarr:{tmp_path / 'missing.zarr'}")
    assert status == 2 and "missing.zarr does not exist; give the path of an existing Zarr directory" in out.err
    status, out = check_source(monkeypatch, capsys, source=f"zarr:{closed_port_url()[:-8]}/x.zarr")
    assert status == 2 and "cannot reach http://127.0.0.1:" in out.err and "Connection refused" in out.err


def test_defaults_agree_between_subcommands():
    """The same option means the same default everywhere, or the help says why not."""
    from zarr_cryoet import cli as cli_module

    sub = cli_module.build_parser()._subparsers._group_actions[0].choices

    def default(command, option):
        return next(a for a in sub[command]._actions if option in a.option_strings).default

    assert default("report", "--results") is None is default("recommend", "--results")  # .asv/results, else recorded
    assert all(default(c, "--results") == ".asv/results" for c in ("overhead", "stability", "crosscheck"))
    assert "never fall back to the recorded run" in next(
        a for a in sub["overhead"]._actions if "--results" in a.option_strings).help
    assert {default(c, "--size") for c in ("fetch", "info", "viz")} == {"128"}
    assert default("recommend", "--size") is None  # unset: the benchmarks' own default crop, the same 128
    assert default("report", "--dpi") == default("viz", "--dpi") == 150
    machine_help = {next(a for a in sub[c]._actions if "--machine" in a.option_strings).help
                    for c in ("report", "recommend", "overhead")}
    assert len(machine_help) == 1
    assert "only portal data can be fetched" in sub["fetch"].description


@pytest.mark.parametrize("argv, phrases", [
    (["restate", "--results", "{tmp}"], ("no asv results in", "run python3 tasks.py benchmark first")),
    (["alarm-proof", "--runs", "0", "--evaluate-only", "--results", "{tmp}"], ("--runs must be at least 1",)),
    (["alarm-proof", "--slowdown", "-0.1", "--evaluate-only", "--results", "{tmp}"], ("a fraction above 0",)),
])
def test_the_alarms_commands_refuse_bad_input_in_one_line_and_touch_nothing(argv, phrases, tmp_path, capsys):
    assert cli.main([a.format(tmp=tmp_path) for a in argv]) == 2
    one_line_error(capsys, *phrases)
    assert list(tmp_path.iterdir()) == []

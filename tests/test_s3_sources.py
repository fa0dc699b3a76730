"""One data-source object: parsed once, named, written to the environment and read back; ``s3://`` sources
and ``portal:`` read over S3, against moto on loopback with the portal's key layout."""

import socket

import numpy as np
import pytest

from tests.fake_portal import FakePortal
from zarr_cryoet import cli
from zarr_cryoet.data import crop_cache, ome_zarr, sources
from zarr_cryoet.data.request import PORTAL_VIA_ENV, SourceRequest
from zarr_cryoet.store.compat import S3_ENDPOINT_ENV
from zarr_cryoet.store.object_storage import BUCKET, S3Endpoint

SETTINGS = (sources.SOURCE_ENV, sources.SIZE_ENV, sources.OFFSET_ENV, sources.LEVEL_ENV, sources.PORTAL_URL_ENV,
            PORTAL_VIA_ENV)
KEY = ome_zarr.PORTAL_KEY  # <dataset>/<run>/Reconstructions/VoxelSpacing…/Tomograms/<id>/<name>.zarr
EDGE = 96


@pytest.fixture(autouse=True)
def no_settings(tmp_path, monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(crop_cache.CACHE_ENV, str(tmp_path / "cache"))


@pytest.mark.parametrize("request_", [
    SourceRequest.parse("phantom:184x630x630"),
    SourceRequest.parse("portal:10445/TS_100_3", size="64,128,128", offset="0,8,8", via="s3"),
    SourceRequest.parse("zarr:/data/tomo.zarr", size="full", level=1, portal_url="http://127.0.0.1:1/graphql"),
    SourceRequest.parse(f"s3://{BUCKET}/{KEY}", size=32),
], ids=["phantom", "portal-via-s3", "zarr", "s3"])
def test_a_request_travels_through_the_environment_unchanged(request_):
    assert SourceRequest.from_env(request_.environment({})) == request_
    assert SourceRequest.parse(request_.spec, size=request_.size, offset=request_.offset, level=request_.level,
                               portal_url=request_.portal_url, via=request_.via) == request_


def test_the_machine_name_follows_the_data_not_how_it_is_fetched():
    assert SourceRequest.parse("phantom").machine_name() is None
    assert SourceRequest.parse("phantom", size=256).machine_name() is None  # the phantom is not cropped
    portal = SourceRequest.parse("portal:10445/TS_100_3", size="256")
    assert portal.machine_name("vm") == "vm-portal-10445-TS-100-3-256-centre"
    assert SourceRequest.parse("portal:10445/TS_100_3", size=256, via="s3").machine_name("vm") == "vm-portal-10445-TS-100-3-256-centre"
    assert portal.with_run("TS_5_4").machine_name("vm") == "vm-portal-10445-TS-5-4-256-centre"
    assert SourceRequest.parse("phantom:256").machine_name("vm") == "vm-phantom-256"


@pytest.mark.parametrize("settings, problem", [
    ({PORTAL_VIA_ENV: "ftp"}, "$ZARR_CRYOET_PORTAL_VIA: cannot read the portal via 'ftp'; choose https"),
    ({PORTAL_VIA_ENV: "s3"}, "$ZARR_CRYOET_PORTAL_VIA: reading via s3 applies to portal: sources, not 'phantom'"),
    ({sources.SOURCE_ENV: "s3://bucket-only"}, "$ZARR_CRYOET_SOURCE: 's3://bucket-only' names no key"),
    ({sources.SOURCE_ENV: "mrc:/x.mrc", PORTAL_VIA_ENV: "s3"}, "$ZARR_CRYOET_PORTAL_VIA: reading via s3"),
])
def test_a_bad_combination_names_its_variable(settings, problem):
    with pytest.raises(sources.InvalidSourceError) as info:
        SourceRequest.from_env(settings)
    assert str(info.value).startswith(problem) and "\n" not in str(info.value)


def test_check_source_prints_the_machine_of_other_data(monkeypatch, capsys):
    monkeypatch.setenv(sources.SOURCE_ENV, "phantom:24")
    assert cli.main(["check-source"]) == 0
    assert capsys.readouterr().out.splitlines() == ["data: phantom 24³ float32 (generated here)",
                                                    f"machine: {SourceRequest.parse('phantom:24').machine_name()}"]
    assert SourceRequest.parse("phantom:24").machine_name().startswith(socket.gethostname())
    monkeypatch.setenv(sources.SOURCE_ENV, "phantom")
    assert cli.main(["check-source"]) == 0
    assert "machine:" not in capsys.readouterr().out


# -- on object storage ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def volume():
    return np.random.default_rng(11).normal(size=(EDGE, EDGE, EDGE)).astype("float32")


@pytest.fixture(scope="module")
def s3(tmp_path_factory, volume):
    image = ome_zarr.write_portal_image(tmp_path_factory.mktemp("image") / "TS_01.zarr", volume)
    with S3Endpoint() as endpoint:
        endpoint.put_tree(image, KEY)
        yield endpoint


@pytest.fixture
def at_endpoint(s3, monkeypatch):
    monkeypatch.setenv(S3_ENDPOINT_ENV, s3.url)
    s3.reset()
    return s3


def test_an_s3_source_reads_its_crop_from_the_endpoint(at_endpoint, volume):
    request = SourceRequest.parse(f"s3://{BUCKET}/{KEY}", size=32, offset="8,16,24")
    assert sources.check(request) == f"data: {request.identity()} (on {at_endpoint.url})"
    loaded = sources.load(request)
    assert np.array_equal(loaded.volume, volume[8:40, 16:48, 24:56])
    assert loaded.provenance["level"] == 0 and tuple(loaded.provenance["voxel_size"]) == (10.012,) * 3
    assert sum(at_endpoint.traffic().requests.values()) > 0  # it went through the endpoint, not a local copy


def test_a_missing_key_or_a_dead_endpoint_is_one_line(at_endpoint, monkeypatch):
    with pytest.raises(sources.InvalidSourceError) as missing:
        sources.check(SourceRequest.parse(f"s3://{BUCKET}/10445/nothing.zarr"))
    assert f"nothing at s3://{BUCKET}/10445/nothing.zarr on {at_endpoint.url}" in str(missing.value)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv(S3_ENDPOINT_ENV, f"http://127.0.0.1:{sock.getsockname()[1]}")
    with pytest.raises(sources.InvalidSourceError) as dead:
        sources.check(SourceRequest.parse(f"s3://{BUCKET}/{KEY}"), timeout=2)
    message = str(dead.value)
    assert "cannot read s3://" in message and f"check ${S3_ENDPOINT_ENV}" in message and "\n" not in message


def test_the_portal_is_read_over_s3_when_asked(at_endpoint, volume, capsys):
    with socket.socket() as sock:  # the https copy is unreachable: only the S3 one can give the voxels
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/TS_01.zarr"
    tomogram = {"id": 100, "run_id": 1, "size_x": EDGE, "size_y": EDGE, "size_z": EDGE, "voxel_spacing": 10.012,
                "is_portal_standard": True, "https_omezarr_dir": dead, "s3_omezarr_dir": f"s3://{BUCKET}/{KEY}"}
    with FakePortal(datasets=[{"id": 10445}], runs=[{"id": 1, "dataset_id": 10445, "name": "TS_01"}],
                    tomograms=[tomogram]) as portal:
        request = SourceRequest.parse("portal:10445/TS_01", size=48, portal_url=portal.url, via="s3")
        loaded = sources.load(request)
        assert np.array_equal(loaded.volume, volume[24:72, 24:72, 24:72])
        assert loaded.provenance["read_from"] == f"s3://{BUCKET}/{KEY}"
        # the cache holds it under the data's name, however it was fetched
        https = SourceRequest.parse("portal:10445/TS_01", size=48, portal_url=portal.url)
        assert crop_cache.crop_dir(https) == crop_cache.crop_dir(request)
        assert cli.main(["fetch", "--source", "portal:10445", "--run", "TS_01", "--size", "48", "--via", "s3",
                         "--portal-url", portal.url]) == 0
    assert "cached 48x48x48 float32 crop of tomogram 100" in capsys.readouterr().out

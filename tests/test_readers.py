"""read_mrc and read_zarr: crops are bit-exact, only touched chunks are fetched, errors are one line.

HTTP tests serve a temporary directory on 127.0.0.1 (tests/http_server.py); nothing touches the internet.
"""

import itertools
import json
import os
import socket

import mrcfile
import numpy as np
import pytest

from tests.helpers import needs_zarr3
from tests.http_server import RecordingHTTPServer
from tests.ome_zarr import SCALES, write_ome_zarr
from zarr_cryoet.store import compat
from zarr_cryoet.data.crop import InvalidCropError
from zarr_cryoet.util.errors import FormatUnavailableError, InvalidVolumeError, ZarrCryoetError
from zarr_cryoet.data.readers import (InvalidLevelError, NotMrcError, NotZarrError, SourceNotFoundError,
                                 SourceUnreachableError, read_mrc, read_zarr)
from zarr_cryoet.store.stores import Layout, write_store

EDGE = 256
METADATA = {".zarray", ".zgroup", ".zattrs", ".zmetadata", "zarr.json"}


def source_volume(edge=EDGE):
    """Every voxel distinct (exact in float32 up to 2**24 = 256³), so any misplaced voxel shows."""
    return np.arange(edge ** 3, dtype=np.float32).reshape((edge,) * 3)


def touched_chunk_keys(start, shape, chunks):
    """The format-2 keys ("i.j.k") of the chunks a box overlaps, computed from the box alone."""
    ranges = [range(s // c, (s + n - 1) // c + 1) for s, n, c in zip(start, shape, chunks)]
    return {".".join(map(str, index)) for index in itertools.product(*ranges)}


def chunk_gets(server, array_prefix):
    """Chunk (not metadata) GETs under ``array_prefix``, as chunk keys."""
    keys = []
    for r in server.requests:
        if r.method == "GET" and r.path.startswith(array_prefix):
            name = r.path[len(array_prefix):]
            if "/" not in name and name not in METADATA:
                keys.append(name)
    return keys


def files_under(path):
    return sorted(os.path.relpath(os.path.join(d, f), path) for d, _, fs in os.walk(path) for f in fs)


def assert_one_line(error, *phrases):
    message = str(error)
    assert message and "\n" not in message, message
    for phrase in phrases:
        assert phrase in message, message


@pytest.fixture(scope="module")
def level0():
    volume = source_volume()
    volume.setflags(write=False)
    return volume


@pytest.fixture(scope="module", params=[64, 128, 256], ids=lambda c: f"chunks{c}")
def served_ome_zarr(request, tmp_path_factory, level0):
    """(server, chunk edge): a format-2 OME-Zarr at ``/tomo.zarr`` of a loopback HTTP server."""
    root = tmp_path_factory.mktemp(f"served{request.param}")
    write_ome_zarr(root / "tomo.zarr", level0, request.param)
    with RecordingHTTPServer(root) as server:
        yield server, request.param


@pytest.fixture(scope="module")
def local_ome_zarr(tmp_path_factory, level0):
    return write_ome_zarr(tmp_path_factory.mktemp("local") / "tomo.zarr", level0, 128)


# ----------------------------------------------------------------------------- Zarr over HTTP

@pytest.mark.parametrize("size, offset", [(128, None), ((16, 40, 100), (0, 100, 37))],
                         ids=["centred128", "offset-box"])
def test_http_crop_is_exact_and_fetches_only_touched_chunks(served_ome_zarr, level0, size, offset):
    server, chunk_edge = served_ome_zarr
    server.reset()
    volume, meta = read_zarr(f"{server.url}/tomo.zarr", size=size, offset=offset)

    start, shape = meta["crop"]["start"], meta["crop"]["shape"]
    if offset is None:
        assert start == [64, 64, 64] and shape == [128, 128, 128]
    expected = level0[tuple(slice(s, s + n) for s, n in zip(start, shape))]
    assert volume.dtype == np.float32 and volume.flags.c_contiguous
    assert np.array_equal(volume, expected)

    expected_keys = touched_chunk_keys(start, shape, (chunk_edge,) * 3)
    fetched = chunk_gets(server, "/tomo.zarr/0/")
    assert sorted(fetched) == sorted(expected_keys)  # each touched chunk exactly once, nothing else
    if offset is None:
        assert len(fetched) == {64: 8, 128: 8, 256: 1}[chunk_edge]
    # Nothing of the other levels' chunks, and every other request is for metadata.
    others = [r for r in server.requests if not (r.method == "GET" and r.path.startswith("/tomo.zarr/0/")
                                                 and r.path.rsplit("/", 1)[1] not in METADATA)]
    assert all(r.path.rstrip("/").rsplit("/", 1)[1] in METADATA for r in others), others
    assert meta["level"] == 0 and meta["array_path"] == "0"
    assert meta["voxel_size"] == (SCALES[0],) * 3 and meta["volume_shape"] == [EDGE] * 3


def test_http_level_2_whole_volume(served_ome_zarr, level0):
    server, chunk_edge = served_ome_zarr
    server.reset()
    volume, meta = read_zarr(f"{server.url}/tomo.zarr/", size=None, level=2)
    assert np.array_equal(volume, level0[::4, ::4, ::4])
    assert meta["voxel_size"] == (SCALES[2],) * 3 and meta["array_path"] == "2"
    edge = min(chunk_edge, EDGE // 4)
    assert len(chunk_gets(server, "/tomo.zarr/2/")) == (EDGE // 4 // edge) ** 3
    assert chunk_gets(server, "/tomo.zarr/0/") == []


def test_http_plain_array(served_ome_zarr, level0):
    server, _ = served_ome_zarr
    volume, meta = read_zarr(f"{server.url}/tomo.zarr/1", size=32)
    assert np.array_equal(volume, level0[::2, ::2, ::2][48:80, 48:80, 48:80])
    assert meta["level"] is None and meta["array_path"] == "" and meta["voxel_size"] is None


# ----------------------------------------------------------------------------- local Zarr

def test_local_ome_zarr(local_ome_zarr, level0):
    before = files_under(local_ome_zarr)
    volume, meta = read_zarr(local_ome_zarr, size=128)
    assert np.array_equal(volume, level0[64:192, 64:192, 64:192])
    assert meta == {"voxel_size": (SCALES[0],) * 3, "volume_shape": [EDGE] * 3,
                    "crop": {"start": [64] * 3, "shape": [128] * 3}, "level": 0, "array_path": "0"}
    json.dumps(meta)  # provenance is stored as JSON
    assert files_under(local_ome_zarr) == before


def test_level_1_is_the_half_size_level(local_ome_zarr, level0):
    volume, meta = read_zarr(str(local_ome_zarr), size=64, level=1)
    assert meta["volume_shape"] == [EDGE // 2] * 3 and meta["level"] == 1 and meta["array_path"] == "1"
    assert meta["voxel_size"] == (SCALES[1],) * 3
    assert np.array_equal(volume, level0[::2, ::2, ::2][32:96, 32:96, 32:96])


def test_plain_local_array(tmp_path, small_volume):
    path = write_store(tmp_path / "plain.zarr", small_volume, Layout("zstd", (16, 16, 16)))
    volume, meta = read_zarr(path, size=(8, 10, 12), offset=(1, 2, 3))
    assert np.array_equal(volume, small_volume[1:9, 2:12, 3:15])
    assert meta["level"] is None and meta["voxel_size"] is None and meta["volume_shape"] == [32, 40, 48]


def test_integer_array_becomes_float32(tmp_path):
    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    path = write_store(tmp_path / "int.zarr", data, Layout("gzip", (2, 5, 6)))
    volume, _ = read_zarr(path, size=None)
    assert volume.dtype == np.float32 and np.array_equal(volume, data)


@needs_zarr3
def test_format_3_ome_zarr(tmp_path):
    level0 = np.arange(64 ** 3, dtype=np.float32).reshape(64, 64, 64)
    root = write_ome_zarr(tmp_path / "v3.zarr", level0, 32, zarr_format=3)
    volume, meta = read_zarr(root, size=16, level=1)
    assert np.array_equal(volume, level0[::2, ::2, ::2][8:24, 8:24, 8:24])
    assert meta["voxel_size"] == (SCALES[1],) * 3
    with RecordingHTTPServer(tmp_path) as server:
        volume, meta = read_zarr(f"{server.url}/v3.zarr", size=32)
        assert np.array_equal(volume, level0[16:48, 16:48, 16:48])
        # Format 3 keys: "c/i/j/k"; the centred 32³ touches all 8 chunks of 32³.
        chunks = [r.path for r in server.requests if r.path.startswith("/v3.zarr/0/c/")]
        assert len(chunks) == 8 == len(set(chunks))


@pytest.mark.skipif(compat.ZARR_MAJOR >= 3, reason="zarr >= 3 reads format 3")
def test_format_3_on_zarr_2_says_to_upgrade(tmp_path):
    root = tmp_path / "v3.zarr"
    root.mkdir()
    (root / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}))
    with pytest.raises(FormatUnavailableError) as err:
        read_zarr(root)
    assert_one_line(err.value, "zarr format 3", "install zarr>=3")


# ----------------------------------------------------------------------------- MRC

def write_mrc(path, data, voxel_size_xyz=(1.5, 2.5, 3.5), stack=False):
    with mrcfile.new(path, data=data) as mrc:
        mrc.voxel_size = voxel_size_xyz
        if stack:
            mrc.set_image_stack()
    return path


def test_mrc_round_trip(tmp_path):
    data = np.random.default_rng(0).normal(size=(40, 50, 60)).astype(np.float32)
    path = write_mrc(tmp_path / "tomo.mrc", data)
    volume, meta = read_mrc(path, size=(20, 30, 40))
    assert volume.dtype == np.float32 and volume.flags.c_contiguous and not isinstance(volume, np.memmap)
    assert np.array_equal(volume, data[10:30, 10:40, 10:50])
    assert meta == {"voxel_size": (3.5, 2.5, 1.5), "volume_shape": [40, 50, 60],
                    "crop": {"start": [10, 10, 10], "shape": [20, 30, 40]}}
    json.dumps(meta)


def test_mrc_whole_volume_is_a_copy(tmp_path):
    data = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    path = write_mrc(tmp_path / "small.mrc", data)
    volume, _ = read_mrc(str(path), size=None)
    path.unlink()  # the result must not depend on the (closed) memory map
    assert np.array_equal(volume, data) and volume.flags.owndata


def test_mrcs_stack_and_int16(tmp_path):
    data = np.arange(6 * 7 * 8, dtype=np.int16).reshape(6, 7, 8)
    path = write_mrc(tmp_path / "particles.mrcs", data, voxel_size_xyz=0.0, stack=True)
    volume, meta = read_mrc(path, size=4, offset=(2, 0, 4))
    assert volume.dtype == np.float32 and np.array_equal(volume, data[2:6, 0:4, 4:8])
    assert meta["voxel_size"] is None  # 0 in the header means "not set"


def test_mrc_errors_leave_no_files(tmp_path):
    raw = tmp_path / "raw.mrc"
    raw.write_bytes(np.random.default_rng(0).bytes(3000))
    before = files_under(tmp_path)
    with pytest.raises(NotMrcError):
        read_mrc(raw)
    assert files_under(tmp_path) == before


def _truncated(tmp_path):
    path = write_mrc(tmp_path / "cut.mrc", np.zeros((8, 8, 8), np.float32))
    path.write_bytes(path.read_bytes()[:-100])
    return path


def _corrupt_header(tmp_path):
    path = write_mrc(tmp_path / "bad.mrc", np.zeros((8, 8, 8), np.float32))
    raw = bytearray(path.read_bytes())
    raw[208:212] = b"XXXX"  # the "MAP " id
    path.write_bytes(bytes(raw))
    return path


def _random_bytes(tmp_path):
    path = tmp_path / "noise.mrc"
    path.write_bytes(np.random.default_rng(1).bytes(5000))
    return path


def _image_2d(tmp_path):
    return write_mrc(tmp_path / "image.mrc", np.zeros((9, 10), np.float32))


def _tomogram(tmp_path):
    return write_mrc(tmp_path / "tomo.mrc", np.zeros((8, 8, 8), np.float32))


@pytest.mark.parametrize("make, kwargs, error, phrases", [
    (_random_bytes, {}, NotMrcError, ["not a readable MRC file", "noise.mrc"]),
    (_truncated, {}, NotMrcError, ["not a readable MRC file", "complete"]),
    (_corrupt_header, {}, NotMrcError, ["not a readable MRC file"]),
    (lambda p: p / "missing.mrc", {}, SourceNotFoundError, ["no such MRC file", "missing.mrc"]),
    (lambda p: p, {}, NotMrcError, ["is a directory"]),
    (_image_2d, {}, InvalidVolumeError, ["(9, 10)", "not 3-D"]),
    (_tomogram, {"size": 16}, InvalidCropError, ["larger than the volume"]),
    (_tomogram, {"size": 4, "offset": (0, 0, 6)}, InvalidCropError, ["does not fit"]),
], ids=["random-bytes", "truncated", "corrupt-header", "missing", "directory", "2-D", "too-large", "offset"])
def test_mrc_errors(tmp_path, make, kwargs, error, phrases):
    with pytest.raises(error) as err:
        read_mrc(make(tmp_path), **kwargs)
    assert isinstance(err.value, ZarrCryoetError)
    assert_one_line(err.value, *phrases)


def test_missing_mrc_is_also_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_mrc(tmp_path / "nope.mrc")


# ----------------------------------------------------------------------------- Zarr errors

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def bad_zarrs(tmp_path_factory):
    """A served directory with a 4-D array, a group without multiscales and a non-Zarr folder."""
    root = tmp_path_factory.mktemp("bad")
    compat.create_array(root / "4d.zarr", shape=(2, 8, 8, 8), chunks=(1, 8, 8, 8), dtype="f4",
                         zarr_format=2, compressor_v2=None, codecs_v3=None, fill_value=0.0,
                         write_empty_chunks=True)[...] = 1
    (root / "group.zarr").mkdir()
    (root / "group.zarr" / ".zgroup").write_text('{"zarr_format": 2}')
    (root / "folder").mkdir()
    (root / "folder" / "notes.txt").write_text("not zarr")
    (root / "file.zarr").write_text("not a directory")
    write_ome_zarr(root / "tomo.zarr", source_volume(32), 16)
    with RecordingHTTPServer(root) as server:
        yield root, server


ZARR_ERRORS = [
    ("4d.zarr", {}, InvalidVolumeError, ["(2, 8, 8, 8)", "not 3-D", "single channel or tomogram"]),
    ("group.zarr", {}, NotZarrError, ["without OME-Zarr multiscales"]),
    ("folder", {}, NotZarrError, ["not a Zarr array or group"]),
    ("tomo.zarr", {"level": 3}, InvalidLevelError, ["level 3", "0 ('0'), 1 ('1'), 2 ('2')"]),
    ("tomo.zarr", {"level": -1}, InvalidLevelError, ["choose one of its levels"]),
    ("tomo.zarr/0", {"level": 1}, InvalidLevelError, ["without multiscale levels"]),
    ("tomo.zarr", {"size": 64}, InvalidCropError, ["larger than the volume"]),
    ("tomo.zarr", {"size": 8, "offset": (0, 0, 30)}, InvalidCropError, ["does not fit"]),
]
ZARR_ERROR_IDS = ["4-D", "group-without-multiscales", "not-zarr", "level-too-high", "level-negative",
                  "level-of-plain-array", "crop-too-large", "offset-out-of-range"]


@pytest.mark.parametrize("where", ["local", "http"])
@pytest.mark.parametrize("name, kwargs, error, phrases", ZARR_ERRORS, ids=ZARR_ERROR_IDS)
def test_zarr_errors(bad_zarrs, where, name, kwargs, error, phrases):
    root, server = bad_zarrs
    before = files_under(root)
    location = root / name if where == "local" else f"{server.url}/{name}"
    with pytest.raises(error) as err:
        read_zarr(location, **kwargs)
    assert_one_line(err.value, *phrases)
    assert files_under(root) == before


def test_missing_local_zarr(tmp_path):
    with pytest.raises(SourceNotFoundError) as err:
        read_zarr(tmp_path / "nope.zarr")
    assert isinstance(err.value, FileNotFoundError)
    assert_one_line(err.value, "no such Zarr directory", "nope.zarr")


def test_local_file_is_not_zarr(bad_zarrs):
    with pytest.raises(NotZarrError) as err:
        read_zarr(bad_zarrs[0] / "file.zarr")
    assert_one_line(err.value, "is a file")


def test_http_404(bad_zarrs):
    _, server = bad_zarrs
    with pytest.raises(SourceNotFoundError) as err:
        read_zarr(f"{server.url}/missing.zarr")
    assert_one_line(err.value, "HTTP 404", "missing.zarr", "check the address")


def test_unreachable_url():
    url = f"http://127.0.0.1:{_free_port()}/tomo.zarr"  # nothing listens there any more
    with pytest.raises(SourceUnreachableError) as err:
        read_zarr(url)
    assert isinstance(err.value, ZarrCryoetError) and isinstance(err.value, ConnectionError)
    assert_one_line(err.value, f"cannot reach URL {url}", "check the address or use a local copy")


def test_server_gone_mid_session(tmp_path, small_volume):
    """A server that stops answering is reported as unreachable, never read as fill values."""
    write_store(tmp_path / "plain.zarr", small_volume, Layout("none", (16, 16, 16)))
    server = RecordingHTTPServer(tmp_path).start()
    url = f"{server.url}/plain.zarr"
    read_zarr(url, size=8)
    server.stop()
    with pytest.raises(SourceUnreachableError):
        read_zarr(url, size=8)


# ----------------------------------------------------------------------------- the test server itself

def test_http_server_records_and_serves_ranges(tmp_path):
    import fsspec

    (tmp_path / "blob.bin").write_bytes(bytes(range(256)))
    with RecordingHTTPServer(tmp_path) as server:
        fs = fsspec.filesystem("http")
        url = f"{server.url}/blob.bin"
        assert fs.cat_file(url, start=10, end=20) == bytes(range(10, 20))
        assert fs.info(url)["size"] == 256
        with fs.open(url, "rb", block_size=16) as f:  # fsspec's ranged reads
            f.seek(250)
            assert f.read() == bytes(range(250, 256))
        assert any(r.range == "bytes=10-19" and r.status == 206 for r in server.requests)
        assert {r.method for r in server.requests} == {"GET", "HEAD"}
        server.reset()
        assert server.requests == []
        assert fs.cat_file(url) == bytes(range(256))
        assert [(r.method, r.path, r.status) for r in server.requests] == [("GET", "/blob.bin", 200)]
    with pytest.raises(RuntimeError):
        server.url  # noqa: B018 - stopped

"""Access patterns, sharded stores and request counting (over HTTP on 127.0.0.1)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import needs_zarr3
from zarr_cryoet.store import access
from zarr_cryoet.store import remote
from zarr_cryoet.util.errors import InvalidChunksError
from zarr_cryoet.data.phantom import make_phantom
from zarr_cryoet.store.stores import Layout, inspect_store, parse_chunking, read_store, write_store

SHAPE = (64, 80, 96)


def test_random_planes_are_fixed_seed_and_in_range():
    planes = access.random_planes(SHAPE)
    assert planes == access.random_planes(SHAPE)
    for axis, name in enumerate(("xy", "xz", "yz")):
        assert len(planes[name]) == access.PLANES_PER_AXIS
        for selection in planes[name]:
            assert isinstance(selection[axis], int) and 0 <= selection[axis] < SHAPE[axis]
            assert np.zeros(SHAPE)[selection].ndim == 2


def test_particle_boxes_are_full_size_and_centred_on_particles():
    phantom = make_phantom((64, 64, 64))
    boxes = access.particle_boxes((64, 64, 64), 32, centres=phantom.particle_centres)
    assert len(boxes) == access.BOXES
    centres = {tuple(c) for c in phantom.particle_centres.tolist()}
    for box in boxes:
        assert np.zeros((64, 64, 64))[box].shape == (32, 32, 32)
        middle = tuple(s.start + 16 for s in box)
        # the centre of the box is a particle, unless the box was moved inside at a face
        assert middle in centres or any(s.start in (0, 32) for s in box)
    random = access.particle_boxes(SHAPE, 32)  # real data: no particles known
    assert len(random) == access.BOXES and random == access.particle_boxes(SHAPE, 32)
    with pytest.raises(ValueError, match="does not fit"):
        access.particle_boxes((16, 64, 64), 32)


def test_z_slabs_cover_the_volume_once_in_order():
    slabs = access.z_slabs(SHAPE, 16)
    covered = np.zeros(SHAPE[0], int)
    for slab in slabs:
        covered[slab[0]] += 1
    assert (covered == 1).all() and [s[0].start for s in slabs] == sorted(s[0].start for s in slabs)


def chunks_by_brute_force(selections, shape, chunks) -> int:
    """The chunk of every voxel a selection reads, counted with numpy: independent of access.chunks_touched."""
    ids = np.arange(np.prod([-(-n // c) for n, c in zip(shape, chunks)])).reshape(
        [-(-n // c) for n, c in zip(shape, chunks)])
    grid = ids.repeat(chunks[0], 0).repeat(chunks[1], 1).repeat(chunks[2], 2)[:shape[0], :shape[1], :shape[2]]
    return sum(np.unique(grid[s]).size for s in selections)


@pytest.mark.parametrize("chunks", [(16, 16, 16), (32, 32, 32), (16, 80, 96), (20, 30, 40)])
@pytest.mark.parametrize("name", access.PATTERNS)
def test_chunks_touched_matches_a_brute_force_count(name, chunks):
    selections = access.pattern(name, SHAPE)
    assert access.chunks_touched(selections, SHAPE, chunks) == chunks_by_brute_force(selections, SHAPE, chunks)


def test_unknown_pattern():
    with pytest.raises(ValueError, match="unknown access pattern 'diagonal'; use xy"):
        access.pattern("diagonal", SHAPE)


@pytest.mark.parametrize("name", ["xy", "yz", "box32", "zslabs"])
def test_one_get_per_chunk_touched_over_http(tmp_path, small_volume, name):
    volume = np.ascontiguousarray(np.random.default_rng(3).normal(size=SHAPE).astype(np.float32))
    layout = Layout("blosc-zstd", (32, 32, 32), 2)
    path = write_store(tmp_path / "tomo.zarr", volume, layout)
    selections = access.pattern(name, SHAPE)
    count = remote.count_requests(path, selections, volume)
    assert count.data_gets == chunks_by_brute_force(selections, SHAPE, layout.chunks)
    assert count.metadata_gets >= 1 and count.data_bytes > 0
    whole = remote.count_requests(path, [(slice(None),) * 3], volume)
    assert whole.data_gets == 2 * 3 * 3 and whole.data_bytes == inspect_store(path).stored_bytes - \
        sum(f.stat().st_size for f in path.iterdir() if f.name.startswith("."))


def test_reading_other_data_over_http_fails(tmp_path):
    volume = np.ones((32, 32, 32), np.float32)
    path = write_store(tmp_path / "tomo.zarr", volume, Layout("none", (16, 16, 16), 2))
    with pytest.raises(remote.ReadMismatchError, match="over HTTP from tomo.zarr returned other data"):
        remote.count_requests(path, [(0, slice(None), slice(None))], volume * 2)
    with pytest.raises(FileNotFoundError, match="no Zarr store at"):
        remote.count_requests(tmp_path / "missing.zarr", [], volume)


def test_latency_is_added_per_request(tmp_path):
    volume = np.ones((32, 32, 32), np.float32)
    path = write_store(tmp_path / "tomo.zarr", volume, Layout("none", (16, 16, 16), 2))
    count = remote.count_requests(path, [(0, slice(None), slice(None))], volume, latency=0.05)
    assert count.data_gets == 4 and count.seconds >= 0.05  # at least one delayed round trip


def test_concurrent_requests_are_not_held_back_by_the_listen_backlog(tmp_path):
    """zarr opens many connections at once; the server must accept them all (a backlog of 5 stalled them ~1 s)."""
    from zarr_cryoet.store.loopback import RecordingHTTPServer

    server = RecordingHTTPServer(tmp_path)._make_server()
    try:
        assert server.request_queue_size >= 128
    finally:
        server.server_close()


# -- sharding ---------------------------------------------------------------------------------

def test_shard_specs_and_their_errors():
    assert parse_chunking("32x32x32/128x128x128") == ((32, 32, 32), (128, 128, 128))
    assert parse_chunking("64") == ((64, 64, 64), None)
    assert Layout("none", (32, 32, 32), 3, (64, 128, 128)).slug == "none_32x32x32_s64x128x128_v3"
    assert Layout("none", (32, 32, 32), 3, (64, 128, 128)).spec == "32x32x32/64x128x128"
    with pytest.raises(InvalidChunksError, match="needs zarr format 3"):
        Layout("none", (32, 32, 32), 2, (128, 128, 128))
    with pytest.raises(InvalidChunksError, match="not a multiple of the chunk shape"):
        Layout("none", (48, 48, 48), 3, (128, 128, 128))


@needs_zarr3
@pytest.mark.parametrize("spec, shard_files", [("32x32x32/64x64x64", 1), ("16x32x32/32x64x64", 2 * 1 * 1),
                                               ("16x16x16/16x32x64", 4 * 2 * 1)])
def test_sharded_stores_round_trip_with_one_file_per_shard(tmp_path, spec, shard_files):
    volume = make_phantom((64, 64, 64)).volume
    inner, shards = parse_chunking(spec)
    path = write_store(tmp_path / "s.zarr", volume, Layout("blosc-zstd", inner, 3, shards))
    assert np.array_equal(read_store(path), volume)  # bit-exact
    stats = inspect_store(path)
    assert (stats.file_count, stats.chunk_file_count) == (shard_files + 1, shard_files)  # + zarr.json


@needs_zarr3
def test_a_shard_larger_than_the_volume_is_refused_before_writing(tmp_path):
    with pytest.raises(InvalidChunksError, match=r"shard shape \(32, 256, 256\) exceeds volume shape"):
        write_store(tmp_path / "s.zarr", np.zeros((64, 64, 64), np.float32),
                    Layout("none", (32, 32, 32), 3, (32, 256, 256)))
    assert not (tmp_path / "s.zarr").exists()


@needs_zarr3
def test_sharded_reads_over_http_count_index_and_chunk_ranges(tmp_path):
    volume = make_phantom((64, 64, 64)).volume
    path = write_store(tmp_path / "s.zarr", volume, Layout("none", (16, 16, 16), 3, (64, 64, 64)))
    plane = [(5, slice(None), slice(None))]
    count = remote.count_requests(path, plane, volume)
    # one shard: its index, then the 16 inner chunks the plane crosses; zarr may merge nearby ranges
    # into fewer, larger GETs (zarr 3.4 fetches about 3.4x the needed bytes here, 3.1 exactly them)
    assert 2 <= count.data_gets <= 1 + 16
    inner_chunks = 16 * 16 ** 3 * 4
    assert inner_chunks <= count.data_bytes <= inspect_store(path).stored_bytes

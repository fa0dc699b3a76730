import json
import os

import numpy as np
import pytest

from zarr_cryoet.store import compat

from zarr_cryoet.store import stores
from zarr_cryoet.store.codecs import CODEC_NAMES
from zarr_cryoet.util.errors import (FormatUnavailableError, InvalidChunksError, InvalidVolumeError,
                                StoreExistsError, UnknownCodecError)
from zarr_cryoet.store.stores import Layout, inspect_store, read_store, write_store

from .helpers import formats

ALL_FORMATS = formats()


@pytest.mark.parametrize("zarr_format", ALL_FORMATS)
@pytest.mark.parametrize("codec", CODEC_NAMES)
def test_round_trip_is_bit_exact(tmp_path, small_volume, codec, zarr_format):
    path = write_store(tmp_path / "s.zarr", small_volume, Layout(codec, (16, 16, 16), zarr_format))
    back = read_store(path)
    assert back.dtype == small_volume.dtype and np.array_equal(back, small_volume)


@pytest.mark.parametrize("zarr_format", ALL_FORMATS)
def test_partial_edge_chunks_round_trip(tmp_path, small_volume, zarr_format):
    path = write_store(tmp_path / "s.zarr", small_volume, Layout("blosc-lz4", (7, 9, 11), zarr_format))
    assert np.array_equal(read_store(path), small_volume)
    assert inspect_store(path).chunk_file_count == 5 * 5 * 5


# Chunk files for the 128³ volume, as in the reference gallery (which adds 1 for .zarray).
GALLERY_CHUNK_FILES = {"16": 512, "32": 64, "64": 8, "128": 1, "16x128x128": 8}


@pytest.mark.parametrize("zarr_format", ALL_FORMATS)
@pytest.mark.parametrize("chunks, chunk_files", GALLERY_CHUNK_FILES.items())
def test_file_counts_of_the_128_cube(tmp_path, volume, chunks, chunk_files, zarr_format):
    path = write_store(tmp_path / "s.zarr", volume, Layout("blosc-zstd", chunks, zarr_format))
    stats = inspect_store(path)
    assert stats.chunk_file_count == chunk_files
    on_disk = [os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs]
    metadata = {os.path.basename(p) for p in on_disk} & {".zarray", ".zattrs", "zarr.json"}
    assert stats.file_count == len(on_disk) == chunk_files + len(metadata)
    assert stats.stored_bytes == sum(os.path.getsize(p) for p in on_disk)
    if zarr_format == 2:
        # zarr 2.x writes .zarray only; zarr 3.x writing format 2 adds an (empty) .zattrs.
        assert metadata == ({".zarray"} if compat.ZARR_MAJOR < 3 else {".zarray", ".zattrs"})
    else:
        assert metadata == {"zarr.json"}


def test_format2_metadata_is_what_vizarr_and_the_portal_use(tmp_path, volume):
    path = write_store(tmp_path / "s.zarr", volume, Layout("blosc-zstd", 64, 2))
    meta = json.loads((path / ".zarray").read_text())
    assert meta["zarr_format"] == 2
    assert meta["chunks"] == [64, 64, 64] and meta["shape"] == [128, 128, 128]
    assert meta["dtype"] == "<f4" and meta["fill_value"] == 0.0 and meta["order"] == "C"
    assert meta["compressor"] == {"id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 1, "blocksize": 0}
    assert meta["filters"] is None and meta.get("dimension_separator", ".") == "."
    assert sorted(p.name for p in path.iterdir() if not p.name.startswith("."))[:2] == ["0.0.0", "0.0.1"]


@pytest.mark.parametrize("zarr_format", ALL_FORMATS)
def test_empty_chunks_are_written_on_every_zarr(tmp_path, zarr_format):
    # write_empty_chunks is pinned: an all-fill-value volume still writes every chunk.
    zeros = np.zeros((32, 32, 32), np.float32)
    path = write_store(tmp_path / "s.zarr", zeros, Layout("none", 16, zarr_format))
    assert inspect_store(path).chunk_file_count == 8


def test_compression_ratio_is_measured_from_files(tmp_path, volume):
    stats = inspect_store(write_store(tmp_path / "s.zarr", volume, Layout("none", 64, 2)))
    assert stats.stored_bytes > volume.nbytes  # raw chunks plus metadata
    assert stats.compression_ratio(volume.nbytes) == volume.nbytes / stats.stored_bytes < 1.0


@pytest.mark.skipif(compat.ZARR_MAJOR >= 3, reason="zarr 3 writes format 3")
def test_format3_is_unavailable_on_zarr2(tmp_path, small_volume):
    with pytest.raises(FormatUnavailableError, match="install zarr>=3"):
        write_store(tmp_path / "s.zarr", small_volume, Layout("none", 16, 3))
    assert not (tmp_path / "s.zarr").exists()
    assert issubclass(FormatUnavailableError, NotImplementedError)  # what asv treats as "skipped"


@pytest.mark.parametrize("chunks", [(256, 16, 16), (16, 16, 49), 129])
def test_chunks_larger_than_the_volume(tmp_path, small_volume, chunks):
    with pytest.raises(InvalidChunksError, match="exceeds volume shape .* choose chunks no larger"):
        write_store(tmp_path / "s.zarr", small_volume, Layout("none", chunks, 2))
    assert not (tmp_path / "s.zarr").exists()


@pytest.mark.parametrize("chunks", ["16x16", (0, 16, 16), "axbxc", (16, -1, 16), None, (1.5, "x", 2, 3)])
def test_malformed_chunks(chunks):
    with pytest.raises(InvalidChunksError):
        Layout("none", chunks, 2)


def test_chunk_spellings():
    assert stores.parse_chunks("16x128x128") == (16, 128, 128)
    assert stores.parse_chunks("64") == stores.parse_chunks(64) == (64, 64, 64)
    assert stores.format_chunks((16, 128, 128)) == "16x128x128"


@pytest.mark.parametrize("data, problem", [
    (np.zeros((8, 8), np.float32), "must be 3-D"),
    (np.zeros((2, 8, 8, 8), np.float32), "must be 3-D"),
    (np.zeros((0, 8, 8), np.float32), "empty"),
    (np.array([["a"]] * 3), "non-numeric"),
    (np.zeros((8, 8, 8), bool), "non-numeric"),
    (np.zeros((8, 8, 8), complex), "non-numeric"),
    ([[[1.0]]], "expected a numpy array"),
])
def test_bad_volumes(tmp_path, data, problem):
    with pytest.raises(InvalidVolumeError, match=problem) as err:
        write_store(tmp_path / "s.zarr", data, Layout("none", 1, 2))
    assert "\n" not in str(err.value)
    assert not (tmp_path / "s.zarr").exists()


def test_unknown_codec_in_a_layout():
    with pytest.raises(UnknownCodecError, match="choose one of"):
        Layout("snappy", 64, 2)


def test_unknown_format():
    with pytest.raises(ValueError, match="use 2 or 3"):
        Layout("none", 64, 4)


def test_existing_path_is_not_overwritten(tmp_path, small_volume):
    target = tmp_path / "keep"
    target.mkdir()
    (target / "precious.txt").write_text("data")
    with pytest.raises(StoreExistsError, match="already exists"):
        write_store(target, small_volume, Layout("none", 16, 2))
    assert (target / "precious.txt").read_text() == "data"
    write_store(target, small_volume, Layout("none", 16, 2), overwrite=True)
    assert not (target / "precious.txt").exists()


def test_a_failed_write_leaves_nothing_behind(tmp_path, small_volume, monkeypatch):
    real_create = compat.create_array

    class Boom(Exception):
        pass

    def create_then_fail(path, **kwargs):
        array = real_create(path, **kwargs)
        array[:16, :16, :16] = 1.0  # some chunks reach the disk ...

        class Failing:
            def __setitem__(self, key, value):
                raise Boom("disk full")  # ... then the write fails
        return Failing()

    monkeypatch.setattr(compat, "create_array", create_then_fail)
    with pytest.raises(Boom):
        write_store(tmp_path / "s.zarr", small_volume, Layout("none", 16, 2))
    assert list(tmp_path.iterdir()) == []


def test_missing_store_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Zarr store"):
        read_store(tmp_path / "nope.zarr")
    with pytest.raises(FileNotFoundError, match="no Zarr store"):
        inspect_store(tmp_path / "nope.zarr")

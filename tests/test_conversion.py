"""Converting a collection into multiscale OME-Zarr (zarr_cryoet.data.conversion): on a real dask cluster, to the
loopback S3 endpoint and to local disk, every image read back by the field's reader (ome-zarr-py)."""

from __future__ import annotations

import numpy as np
import pytest

from zarr_cryoet.data import conversion
from zarr_cryoet.store import pricing
from zarr_cryoet.store.stores import Layout

needs_writer = pytest.mark.skipif(conversion.unavailable() is not None, reason=str(conversion.unavailable()))
SHAPE = (40, 72, 88)  # levels (40, 72, 88), (20, 36, 44), (10, 18, 22)
VOXEL = 7.5


def _collection(tmp_path, n: int) -> tuple[list[str], list[np.ndarray]]:
    import mrcfile

    paths, volumes = [], []
    for i in range(n):
        volume = np.random.default_rng(i).normal(size=SHAPE).astype(np.float32)
        path = tmp_path / f"tomo_{i}.mrc"
        with mrcfile.new(path) as mrc:
            mrc.set_data(volume)
            mrc.voxel_size = VOXEL
        paths.append(str(path))
        volumes.append(volume)
    return paths, volumes


def _read_with_ome_zarr(store) -> tuple[list[np.ndarray], list[list[float]]]:
    """Every level and its scale, as ome-zarr-py's reader sees the image."""
    from ome_zarr.io import ZarrLocation
    from ome_zarr.reader import Multiscales, Reader

    (node,) = [n for n in Reader(ZarrLocation(store))() if n.load(Multiscales)]
    datasets = node.metadata["coordinateTransformations"]
    scales = [next(t["scale"] for t in transforms if t["type"] == "scale") for transforms in datasets]
    return [np.asarray(level) for level in node.data], scales


def _check_image(store, volume) -> None:
    levels, scales = _read_with_ome_zarr(store)
    expected = conversion.expected_levels(volume)
    assert [lv.shape for lv in levels] == [e.shape for e in expected] == [
        conversion.level_shape(SHAPE, f) for f in conversion.BINNING]
    assert np.array_equal(levels[0], volume)
    for level, want in zip(levels[1:], expected[1:]):
        np.testing.assert_allclose(level, want, rtol=0, atol=1e-5 * float(np.abs(volume).max()))
    np.testing.assert_allclose(scales, [[VOXEL * f] * 3 for f in conversion.BINNING], rtol=1e-6)


@needs_writer
@pytest.mark.parametrize("spec", ["32x32x32", "16x32x32/32x64x64"])
def test_a_collection_converts_on_two_workers_to_s3_and_reads_back_with_ome_zarr(tmp_path, spec):
    from zarr_cryoet.store.object_storage import BUCKET, S3Endpoint

    paths, volumes = _collection(tmp_path, 3)
    layout = Layout.from_spec("blosc-zstd", spec)
    with S3Endpoint() as s3:
        destination = conversion.Destination("collection", s3={"bucket": BUCKET, **s3.obstore_config()})
        client = conversion.local_cluster(2)
        try:
            converted = conversion.convert(client, paths, destination, layout)
        finally:
            conversion.close_cluster(client)
        traffic = s3.traffic()
        assert [c.name for c in converted] == ["tomo_0.zarr", "tomo_1.zarr", "tomo_2.zarr"]
        assert all(c.peak_rss_bytes > volumes[0].nbytes for c in converted)
        assert traffic.requests["PUT"] >= 3 * 3  # at least an object per level of every image
        for c, volume in zip(converted, volumes):
            _check_image(destination.store(c.name).with_read_only(True), volume)
            stored_bytes, objects = conversion.stored(destination, c.name)
            assert objects > 3 and stored_bytes > 0
        assert conversion.delete_prefix(destination) > 0
        assert conversion.stored(destination, "tomo_0.zarr") == (0, 0)


@needs_writer
def test_the_portals_layout_to_local_disk_keeps_its_format_and_nested_keys(tmp_path):
    paths, volumes = _collection(tmp_path, 1)
    destination = conversion.Destination(str(tmp_path / "out"))
    layout = Layout.from_spec("blosc-lz4", "256x256x256", 2)
    client = conversion.local_cluster(1)
    try:
        conversion.warm_up(client, paths[0], destination, layout)
        (converted,) = conversion.convert(client, paths, destination, layout)
    finally:
        conversion.close_cluster(client)
    image = tmp_path / "out" / converted.name
    assert (image / ".zattrs").is_file() and not (image / "zarr.json").exists()  # NGFF 0.4 on format 2
    group = conversion.open_image(destination, converted.name)
    from zarr_cryoet.data.ome_zarr import level_paths

    level0 = group[level_paths(group)[0]]
    assert level0.chunks == SHAPE  # the portal's 256³ chunks, clipped to the volume
    assert (image / level_paths(group)[0] / "0" / "0" / "0").is_file()  # the portal's "/" keys
    _check_image(str(image), volumes[0])
    assert [lv.shape for lv in conversion.read_levels(destination, converted.name)] == list(converted.shapes)


def test_the_writer_says_why_it_cannot_run():
    reason = conversion.unavailable()
    from zarr_cryoet.store import compat

    if compat.ZARR_MAJOR < 3:
        assert "zarr >= 3" in reason
    else:
        assert reason is None or "not installed" in reason


def test_prices_come_from_the_one_table_with_its_source_and_date(tmp_path):
    prices = pricing.load()
    assert prices.as_of and prices.source.startswith("https://")
    # 1000 tomograms of 300 MB for a month, and a PUT and a GET each
    assert prices.storage(1000 * 300e6) == pytest.approx(300 * prices.storage_per_gb_month)
    assert prices.requests({"PUT": 1000, "GET": 1000}) == pytest.approx(
        prices.per_1000_requests["PUT"] + prices.per_1000_requests["GET"])
    bad = tmp_path / "prices.json"
    bad.write_text("{}")
    with pytest.raises(pricing.PriceTableError, match="cannot be read"):
        pricing.load(bad)


@needs_writer
def test_zarr_cryoet_convert_converts_ones_own_files_and_never_overwrites(tmp_path, capsys):
    from zarr_cryoet.cli import main

    paths, volumes = _collection(tmp_path, 2)
    out = tmp_path / "images"
    assert main(["convert", *paths, "--to", str(out), "--chunks", "16x32x32", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "2 tomograms in" in printed and "tomo_0.zarr: levels 40×72×88, 20×36×44, 10×18×22" in printed
    for i, volume in enumerate(volumes):
        _check_image(str(out / f"tomo_{i}.zarr"), volume)
    before = sorted(p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file())
    assert main(["convert", paths[0], "--to", str(out)]) == 2
    assert "already has tomo_0.zarr; choose another --to" in capsys.readouterr().err
    assert sorted(p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()) == before


def test_zarr_cryoet_convert_names_a_missing_file(tmp_path, capsys):
    from zarr_cryoet.cli import main

    assert main(["convert", str(tmp_path / "nope.mrc"), "--to", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ("no such file" in err[0] or "cannot convert here" in err[0])
    assert not (tmp_path / "out").exists()

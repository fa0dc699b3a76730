"""Converting a collection of tomograms into multiscale OME-Zarr images, one tomogram per task on a dask cluster.

What a data engineer runs to put hundreds of MRC files on object storage, as the CryoET Data Portal stores them:
each task reads one MRC file (memory-mapped, with its voxel size), and the field's own writer,
`ome-zarr-py <https://github.com/ome/ome-zarr-py>`_ (``ome_zarr.writer.write_image``), writes levels 0, 1 and 2
(binned by 2 and 4 along every axis: ``local_mean``, cryo-ET's binning) with the scales of each level, as NGFF 0.4
on zarr format 2 (the portal's) or NGFF 0.5 on format 3 (where shards live). The codec and the chunk (and shard)
shape of every level are the :class:`~zarr_cryoet.store.stores.Layout`'s, with ``write_empty_chunks`` pinned on.

The tasks run on a ``dask.distributed`` cluster (:func:`local_cluster` here: worker processes with one thread
each, so a worker is a core; a lab passes its own cluster's client), one tomogram per task and the tomogram's
own chunks computed synchronously inside it: a worker holds one tomogram at a time, and the collection scales
with the workers. :func:`convert` returns each task's :class:`Converted` facts, the worker's peak memory among
them. Where the images go is a :class:`Destination`: a local directory, or a prefix of an S3 bucket (obstore).

``ome-zarr`` 0.21 needs zarr >= 3 and Python >= 3.12; :func:`unavailable` says why it cannot run elsewhere.
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zarr_cryoet.store import compat
from zarr_cryoet.store.codecs import get_codec
from zarr_cryoet.store.stores import Layout

#: levels 0, 1, 2 and their binning, as the portal stores its tomograms
BINNING = (1, 2, 4)
#: the voxel size written when an MRC file has none (Å; the portal's dataset 10445)
DEFAULT_VOXEL_SIZE = 10.012


@dataclass(frozen=True)
class Destination:
    """Where the images go: a local directory ``root``, or with ``s3`` (obstore ``S3Store`` keyword arguments:
    ``bucket``, ``config``, ``client_options``) the key prefix ``root`` of that bucket. Picklable, for the workers."""

    root: str
    s3: dict | None = None

    def store(self, name: str):
        """The zarr store (or local path) of image ``name``."""
        if self.s3 is None:
            return str(Path(self.root, name))
        from obstore.store import S3Store
        from zarr.storage import ObjectStore

        options = dict(self.s3)
        return ObjectStore(S3Store(options.pop("bucket"), prefix=f"{self.root.strip('/')}/{name}", **options),
                           read_only=False)

    @property
    def kind(self) -> str:
        return "local" if self.s3 is None else "s3"


@dataclass(frozen=True)
class Converted:
    """One task's facts: the image's name, its level shapes, and the worker's peak resident memory (bytes)."""

    name: str
    shapes: tuple[tuple[int, int, int], ...]
    peak_rss_bytes: int


def unavailable() -> str | None:
    """Why the conversion cannot run in this environment; None if it can."""
    if compat.ZARR_MAJOR < 3:
        return f"ome-zarr's writer needs zarr >= 3 (this environment has zarr {compat.ZARR_VERSION})"
    try:
        import distributed  # noqa: F401
        import ome_zarr  # noqa: F401
    except ImportError as err:
        return f"{err.name} is not installed in this environment (zarr_cryoet.engines.install adds it with zarr >= 3)"
    return None


def storage_options(layout: Layout) -> dict:
    """What ome-zarr passes to zarr's ``create_array`` for every level: chunks, shards, codec, empty chunks kept."""
    codec = get_codec(layout.codec)
    options = {"chunks": layout.chunks, "config": {"write_empty_chunks": True}}
    if layout.zarr_format == 2:
        options.update(compressors=codec.v2_compressor(), chunk_key_encoding={"name": "v2", "separator": "/"})
    else:
        options.update(compressors=codec.v3_compressors())
        if layout.shards is not None:
            options["shards"] = layout.shards
    return options


def level_chunks(layout: Layout, shape) -> list[dict]:
    """:func:`storage_options` for each level: no chunk or shard larger than its level (as the portal's)."""
    out = []
    for factor in BINNING:
        level = level_shape(shape, factor)
        options = dict(storage_options(layout))
        options["chunks"] = tuple(min(c, n) for c, n in zip(layout.chunks, level))
        if "shards" in options:
            shards = tuple(min(s, n) for s, n in zip(layout.shards, level))
            options["shards"] = tuple(-(-s // c) * c for s, c in zip(shards, options["chunks"]))
        out.append(options)
    return out


def convert_one(mrc_path: str, destination: Destination, name: str, layout: Layout) -> Converted:
    """Read one MRC file and write it as a multiscale OME-Zarr image ``name`` of ``destination`` (a task)."""
    import dask
    import dask.array as da
    import mrcfile
    import zarr
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.scale import Methods
    from ome_zarr.writer import write_image

    fmt = FormatV04() if layout.zarr_format == 2 else FormatV05()
    with mrcfile.mmap(mrc_path, mode="r", permissive=False) as mrc:
        data = np.asarray(mrc.data)
        voxel = float(mrc.voxel_size.x) or DEFAULT_VOXEL_SIZE
        # dask's blocks are whole chunks (shards) of level 0, so no two blocks write to one object
        image = da.from_array(data, chunks=layout.shards or layout.chunks)
        group = zarr.open_group(destination.store(name), mode="w", zarr_format=fmt.zarr_format)
        with dask.config.set(scheduler="synchronous"):  # the task's own chunks, on its worker's one thread
            write_image(image, group, scale_factors=[{a: f for a in "zyx"} for f in BINNING[1:]],
                        method=Methods.LOCAL_MEAN, fmt=fmt, axes="zyx", storage_options=level_chunks(layout, data.shape),
                        scale={a: voxel for a in "zyx"}, axes_units={a: "angstrom" for a in "zyx"}, name=name)
        shapes = tuple(level_shape(data.shape, f) for f in BINNING)
    return Converted(name, shapes, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def convert(client, mrc_paths, destination: Destination, layout: Layout, names=None) -> list[Converted]:
    """Convert every file of ``mrc_paths`` on ``client``'s cluster, one task per tomogram; each task's facts."""
    names = list(names or (Path(p).stem + ".zarr" for p in mrc_paths))
    futures = client.map(convert_one, [str(p) for p in mrc_paths], [destination] * len(names), names,
                         [layout] * len(names), pure=False)
    return client.gather(futures)


#: the images :func:`warm_up` writes, one per worker
WARM_UP_NAMES = ("warm-up-0.zarr", "warm-up-1.zarr", "warm-up-2.zarr", "warm-up-3.zarr")


def warm_up(client, mrc_path: str, destination: Destination, layout: Layout) -> None:
    """Convert a small file on every worker of ``client`` (each gets its own task): the imports, the first
    connections, before anything is timed."""
    workers = list(client.scheduler_info()["workers"])
    if len(workers) > len(WARM_UP_NAMES):
        raise ValueError(f"warm_up handles at most {len(WARM_UP_NAMES)} workers, not {len(workers)}")
    futures = [client.submit(convert_one, mrc_path, destination, name, layout, workers=[worker], pure=False)
               for worker, name in zip(workers, WARM_UP_NAMES)]
    client.gather(futures)


def open_image(destination: Destination, name: str):
    """Image ``name`` of ``destination``, as a zarr group opened read-only."""
    import zarr

    store = destination.store(name)
    if destination.s3 is not None:
        store = store.with_read_only(True)
    return zarr.open_group(store, mode="r")


def read_levels(destination: Destination, name: str) -> list[np.ndarray]:
    """Every level of image ``name`` (in the order of its ``multiscales`` metadata), read whole."""
    from zarr_cryoet.data.ome_zarr import level_paths

    group = open_image(destination, name)
    return [group[path][...] for path in level_paths(group)]


def stored(destination: Destination, name: str) -> tuple[int, int]:
    """Bytes and objects (files) that image ``name`` holds."""
    if destination.s3 is None:
        files = [f for f in Path(destination.root, name).rglob("*") if f.is_file()]
        return sum(f.stat().st_size for f in files), len(files)
    import obstore

    listed = [meta for batch in obstore.list(_bucket_store(destination), prefix=f"{destination.root.strip('/')}/{name}/")
              for meta in batch]
    return sum(meta["size"] for meta in listed), len(listed)


def delete_prefix(destination: Destination) -> int:
    """Delete every object under the S3 destination's prefix; how many there were."""
    import obstore

    store = _bucket_store(destination)
    paths = [meta["path"] for batch in obstore.list(store, prefix=destination.root.strip("/") + "/") for meta in batch]
    for start in range(0, len(paths), 1000):
        obstore.delete(store, paths[start:start + 1000])
    return len(paths)


def _bucket_store(destination: Destination):
    from obstore.store import S3Store

    if destination.s3 is None:
        raise ValueError("not an S3 destination")
    options = dict(destination.s3)
    return S3Store(options.pop("bucket"), **options)


def local_cluster(workers: int):
    """A client of a local cluster of ``workers`` worker processes with one thread each (no dashboard)."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           memory_limit=0, silence_logs=logging.ERROR)
    return Client(cluster)


def close_cluster(client) -> None:
    """Stop ``client`` and its local cluster."""
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()


def expected_levels(volume: np.ndarray) -> list[np.ndarray]:
    """What levels 0, 1, 2 of a converted image hold: the volume and its local means over 2³ and 4³ voxels
    (scikit-image's ``downscale_local_mean``, which ome-zarr's ``local_mean`` applies block by block)."""
    from skimage.transform import downscale_local_mean

    levels = []
    for f in BINNING:
        shape = level_shape(volume.shape, f)
        level = volume if f == 1 else downscale_local_mean(volume[tuple(slice(0, n * f) for n in shape)], (f, f, f))
        levels.append(level.astype(volume.dtype, copy=False))
    return levels


def level_shape(shape, factor: int) -> tuple[int, ...]:
    """The shape of the level binned by ``factor``: ome-zarr drops the voxels that do not fill a bin."""
    return tuple(n // factor for n in shape)

"""Converting a collection: how many tomograms an hour become multiscale OME-Zarr, locally and on S3, and what it costs.

A data engineer with hundreds of tomograms (MRC files) converts them into OME-Zarr images on object storage, as
the CryoET Data Portal stores them: levels 0, 1 and 2 (binned by 2 and 4), written by the field's own writer
(ome-zarr-py, :mod:`zarr_cryoet.data.conversion`), one tomogram per task of a ``dask.distributed`` cluster
(worker processes with one thread each; the same code runs on a lab's cluster). The tomograms are the
portal-sized phantom (:data:`benchmarks.realistic.SHAPE`, 184×630×630 float32, 292 MB), one MRC file per
tomogram, each a separate file read from the page cache (warm: what a conversion right after transfer sees).

* ``Convert.time_convert``: as many tomograms as workers (one each), converted by ``workers`` worker
  processes to local disk or to the S3 endpoint on loopback (moto behind the shaping proxy: 20 ms per
  request, a 1 Gbit/s link; :mod:`zarr_cryoet.store.object_storage`). Tomograms per hour are
  ``tomograms × 3600 / time``. The cluster is started and every worker warmed up (a small conversion, so
  the imports are done) in ``setup``; after each call every written image is read back whole, every
  level compared with what it must hold, and removed (none of that timed).
* ``Traffic``: per tomogram converted to S3: requests by kind (``PUT``; ``POST``, multipart uploads'
  start and end; ``HEAD``, ``LIST``, ``GET``), bytes stored and objects, and the worker's peak memory:
  counted once per environment on one worker (a fresh process), the numbers the cost is computed from
  (:mod:`zarr_cryoet.store.pricing`).
* ``Reads.track_requests`` / ``track_bytes_fetched``: what each use case costs to read from the converted
  image on S3 (level 0; ``viewer`` is the multiscale viewer's sequence of :mod:`benchmarks.multiscale`),
  counted once per environment: the requests that 1000 reads cost.

**Grid and budget.** The candidates are the portal's own layout (256³ chunks, Blosc-LZ4, format 2, NGFF
0.4), 64³ and 16×128×128 chunks (format 2) and 64³ chunks in 128³ shards (format 3, NGFF 0.5), Blosc-Zstd
for the last three. The default run converts each to local disk on two workers (the conversion's own work: read,
bin, compress, write), the portal's layout also on one worker (how it scales) and to S3 on two (what the store's
round trips add; on loopback the S3 server, moto, answers every request in Python, so times to S3 rank layouts by
their requests more steeply than a real store would); ``ZARR_CRYOET_FULL=1`` converts every layout to S3 too, both
codecs for every chunk shape and one worker everywhere. ``Traffic`` and ``Reads`` count every candidate on S3 (once
per environment). Two processes per timed combination (:data:`common.REMOTE`): a conversion takes seconds.

ome-zarr 0.21 needs zarr >= 3 on Python >= 3.12 (``python -m zarr_cryoet.engines.install`` adds it and
dask.distributed there); elsewhere these benchmarks are skipped with the reason. Only with the default data.
"""

import json
import shutil
import tempfile
import uuid
from pathlib import Path

import numpy as np

from zarr_cryoet.data import conversion, ome_zarr, sources
from zarr_cryoet.engines.base import io_concurrency
from zarr_cryoet.measure import object_traffic
from zarr_cryoet.store import stores
from zarr_cryoet.store.object_storage import BUCKET, S3Endpoint
from zarr_cryoet.store.shaping_proxy import Shaping
from zarr_cryoet.util.files import write_atomically

from . import common
from .object_storage import NETWORKS, TRAFFIC_NETWORK
from .realistic import REQUEST

DATA = [REQUEST.identity()]
CHUNKS = ["256x256x256", "64x64x64", "16x128x128", "64x64x64/128x128x128"]
CODECS = ["blosc-lz4", "blosc-zstd"]
#: the portal's own layout; the other chunk shapes with the suite's codec
PORTAL = ("blosc-lz4", "256x256x256")
TARGETS = ["local", "s3"]
WORKERS = [1, 2]
#: the network the conversions to S3 cross (the S3 tier's default)
NETWORK = NETWORKS["20ms-1gbit"]
ENABLED = common.REQUEST.spec == sources.DEFAULT_SOURCE
#: the request kinds ``Traffic`` tracks one by one (the proxy's kinds; S3 bills PUT, POST and LIST at one rate, GET and
#: HEAD at another); anything else is ``track_other_requests``
REQUEST_KINDS = ("PUT", "POST", "LIST", "GET", "ranged GET", "HEAD")
#: a small volume that every worker converts in set-up: the imports, before anything is timed
WARM_UP_SHAPE = (16, 32, 32)


def layout(codec: str, chunks: str) -> stores.Layout:
    """The layout of a candidate (format follows from the chunks: shards on 3, plain chunks on 2)."""
    return stores.Layout.from_spec(codec, chunks)


def candidate(codec: str, chunks: str) -> bool:
    """Whether the grid measures this codec and chunk shape: the portal's layout and Blosc-Zstd (full: both)."""
    return common.FULL or (codec, chunks) == PORTAL or (codec == "blosc-zstd" and chunks != PORTAL[1])


def measured(codec: str, chunks: str, target: str, workers: int) -> bool:
    """The default grid: every candidate to local disk on two workers (the conversion's own work), the portal's layout
    also on one worker (how it scales) and to S3 on two (what the store's round trips add)."""
    if not candidate(codec, chunks):
        return False
    if common.FULL:
        return True
    portal = (codec, chunks) == PORTAL
    return (target == "local" and (workers == 2 or portal)) or (target == "s3" and workers == 2 and portal)


def _check_enabled() -> None:
    if not ENABLED:
        raise NotImplementedError("the conversion tier runs with the default data only")
    reason = conversion.unavailable()
    if reason:
        raise NotImplementedError(reason)


@common.built_once
def setup_cache():
    """The tomograms as MRC files (one per worker of the largest cluster) and each candidate's image, converted once
    in this process (what ``multiscale`` and ``Reads`` read), with the levels they must hold."""
    if not ENABLED or conversion.unavailable():
        return {"disabled": True}
    import mrcfile

    loaded = sources.load(REQUEST)
    here = Path.cwd()
    volume = np.ascontiguousarray(loaded.volume, dtype=np.float32)
    mrcs = []
    for i in range(max(WORKERS)):
        path = here / "tomograms" / f"tomogram_{i:03d}.mrc"
        path.parent.mkdir(exist_ok=True)
        with mrcfile.new(path, overwrite=True) as mrc:
            mrc.set_data(volume)
            mrc.voxel_size = conversion.DEFAULT_VOXEL_SIZE
        mrcs.append(str(path))
    with mrcfile.new(here / "warm_up.mrc", overwrite=True) as mrc:
        mrc.set_data(volume[tuple(slice(0, n) for n in WARM_UP_SHAPE)].copy())
    levels = []
    for i, level in enumerate(conversion.expected_levels(volume)):
        levels.append(str(here / f"level_{i}.npy"))
        np.save(levels[-1], level)
    images = {}
    destination = conversion.Destination(str(here / "images"))
    for codec in CODECS:
        for chunks in CHUNKS:
            if candidate(codec, chunks):
                lay = layout(codec, chunks)
                conversion.convert_one(mrcs[0], destination, lay.slug + ".zarr", lay)
                images[lay.slug] = str(here / "images" / (lay.slug + ".zarr"))
    particles = None
    if loaded.particles is not None:
        particles = str(here / "particles.npy")
        np.save(particles, loaded.particles)
    return {"dir": str(here), "mrcs": mrcs, "warm_up": str(here / "warm_up.mrc"), "levels": levels,
            "images": images, "particles_path": particles}


def expected_levels(cache: dict) -> list[np.ndarray]:
    return [common._load_volume(path) for path in cache["levels"]]


_endpoint: S3Endpoint | None = None


def endpoint(cache: dict) -> S3Endpoint:
    """The S3 endpoint this environment's benchmark processes share (beside the setup cache)."""
    global _endpoint
    if _endpoint is None:
        import atexit

        _endpoint = S3Endpoint.shared(cache["dir"])
        atexit.register(_endpoint.stop)
    return _endpoint


def s3_destination(s3: S3Endpoint, root: str) -> conversion.Destination:
    return conversion.Destination(root, s3={"bucket": BUCKET, **s3.obstore_config()})


def check_images(destination: conversion.Destination, names, cache: dict) -> None:
    """Every level of every image in ``names`` read back whole (by zarr-python) and compared with what it must hold."""
    expected = expected_levels(cache)
    for name in names:
        levels = conversion.read_levels(destination, name)
        if len(levels) != len(expected):
            raise AssertionError(f"converted image {name} has {len(levels)} levels, not {len(expected)}")
        for i, level in enumerate(levels):
            check_level(level, expected[i], f"level {i} of converted image {name}")


def check_level(actual, expected, what: str) -> None:
    """Level 0 voxel for voxel; a binned level to float32 rounding (ome-zarr sums each bin in its own order: a
    few units in the last place, never more than 1e-5 of the volume's largest magnitude)."""
    if actual.shape != expected.shape or actual.dtype != expected.dtype:
        raise AssertionError(f"{what}: read {actual.dtype}{actual.shape}, expected {expected.dtype}{expected.shape}")
    scale = float(np.abs(expected).max()) or 1.0
    if not np.allclose(actual, expected, rtol=0, atol=1e-5 * scale):
        worst = float(np.abs(actual.astype(np.float64) - expected).max())
        raise AssertionError(f"{what}: differs from the binned volume by up to {worst:.3g} (tolerance {1e-5 * scale:.3g})")


def remove_images(destination: conversion.Destination, names) -> None:
    if destination.s3 is None:
        for name in names:
            shutil.rmtree(Path(destination.root, name), ignore_errors=True)
    else:
        conversion.delete_prefix(destination)


def counted(cache: dict, lay: stores.Layout) -> dict:
    """What converting one tomogram to S3 cost (on one fresh worker) and what each use case costs to read from the
    image: counted once per setup cache and layout at 20 ms per request, every read checked."""
    memo = Path(cache["dir"], "conversion_traffic", f"{lay.slug}.json")
    if memo.is_file():
        return json.loads(memo.read_text())
    s3 = endpoint(cache)
    s3.shape(Shaping(*TRAFFIC_NETWORK))
    destination = s3_destination(s3, f"counted/{uuid.uuid4().hex}")
    name = Path(cache["mrcs"][0]).stem + ".zarr"
    client = conversion.local_cluster(1)
    try:
        conversion.warm_up(client, cache["warm_up"], destination, lay)
        s3.reset()
        (converted,) = conversion.convert(client, cache["mrcs"][:1], destination, lay, [name])
        traffic = s3.traffic()
    finally:
        conversion.close_cluster(client)
    stored_bytes, objects = conversion.stored(destination, name)
    out = {"convert": {"requests": dict(traffic.requests), "stored_bytes": stored_bytes, "objects": objects,
                       "peak_rss_bytes": converted.peak_rss_bytes}}
    levels = expected_levels(cache)
    particles = np.load(cache["particles_path"]) if cache.get("particles_path") else None
    with s3_reads():
        group = conversion.open_image(destination, name)
        level0 = group[ome_zarr.level_paths(group)[0]]
        for workload in object_traffic.WORKLOADS:
            chosen = object_traffic.selections(workload, levels[0].shape, particles)
            s3.reset()
            for selection in chosen:
                common.check_read(np.asarray(level0[selection]), levels[0][selection], f"{workload} of {lay.slug}")
            out[workload] = _read_cost(s3.traffic())
        s3.reset()
        coarse, full = ome_zarr.first_view(conversion.open_image(destination, name))
        out["viewer"] = _read_cost(s3.traffic())
    check_first_view(coarse, full, levels)
    conversion.delete_prefix(destination)
    write_atomically(memo, json.dumps(out))
    return out


def _read_cost(traffic) -> dict:
    return {"requests": sum(traffic.requests.values()), "bytes": traffic.bytes}


def s3_reads():
    """zarr-python's settings while it reads from S3: the S3 tier's requests in flight."""
    import zarr

    return zarr.config.set({"async.concurrency": io_concurrency()})


def check_first_view(coarse, full, levels) -> None:
    check_level(np.asarray(coarse), levels[-1][levels[-1].shape[0] // 2], "the coarsest level's XY plane")
    common.check_read(np.asarray(full), levels[0][levels[0].shape[0] // 2], "level 0's XY plane")


class Convert:
    """``workers`` tomograms converted by ``workers`` worker processes (one each) to local disk or S3."""

    params = (DATA, CHUNKS, CODECS, TARGETS, WORKERS)
    param_names = ["data", "chunks", "codec", "target", "workers"]
    timeout = common.BENCHMARK_TIMEOUT
    version = common.TIME_VERSION
    setup_cache = staticmethod(setup_cache)
    client = destination = workdir = converted = None
    names = ()

    def setup(self, cache, data, chunks, codec, target, workers):
        _check_enabled()
        if not measured(codec, chunks, target, workers):
            raise NotImplementedError(f"{codec} {chunks} to {target} on {workers} workers is not in this grid")
        self.layout, self.cache, self.converted = layout(codec, chunks), cache, None
        common.use_every_core()
        self.mrcs = cache["mrcs"][:workers]
        if target == "s3":
            s3 = endpoint(cache)
            s3.shape(NETWORK)
            self.destination = s3_destination(s3, f"convert/{uuid.uuid4().hex}")
        else:
            self.workdir = tempfile.mkdtemp(prefix="zarr-cryoet-convert-")
            self.destination = conversion.Destination(self.workdir)
        self.client = conversion.local_cluster(workers)
        conversion.warm_up(self.client, cache["warm_up"], self.destination, self.layout)
        self.names = [f"{Path(p).stem}.zarr" for p in self.mrcs]

    def time_convert(self, cache, data, chunks, codec, target, workers):
        self.converted = conversion.convert(self.client, self.mrcs, self.destination, self.layout, self.names)

    def teardown(self, cache, data, chunks, codec, target, workers):
        try:
            if self.client is not None:
                conversion.close_cluster(self.client)
            if self.converted is not None:
                if target == "s3":
                    endpoint(cache).shape(Shaping())  # read back without the network's delays
                check_images(self.destination, self.names, cache)
        finally:
            if self.destination is not None:
                remove_images(self.destination, [*self.names, *conversion.WARM_UP_NAMES])
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self.client = self.destination = self.workdir = None


common.sampled(common.REMOTE)(Convert)


class Traffic:
    """Per tomogram converted to S3: requests by kind, bytes and objects stored, the worker's peak memory."""

    params = (DATA, CHUNKS, CODECS)
    param_names = ["data", "chunks", "codec"]
    timeout = common.BENCHMARK_TIMEOUT
    version = common.VERSION
    setup_cache = staticmethod(setup_cache)

    def setup(self, cache, data, chunks, codec):
        _check_enabled()
        if not candidate(codec, chunks):
            raise NotImplementedError(f"{codec} {chunks} is not in this grid")
        self.counted = counted(cache, layout(codec, chunks))["convert"]

    def track_put_requests(self, *params):
        return self._requests("PUT")

    def track_post_requests(self, *params):
        return self._requests("POST")

    def track_list_requests(self, *params):
        return self._requests("LIST")

    def track_get_requests(self, *params):
        return self._requests("GET", "ranged GET")

    def track_head_requests(self, *params):
        return self._requests("HEAD")

    def track_other_requests(self, *params):
        return sum(n for kind, n in self.counted["requests"].items() if kind not in REQUEST_KINDS)

    def track_stored_bytes(self, *params):
        return self.counted["stored_bytes"]

    def track_objects(self, *params):
        return self.counted["objects"]

    def track_peak_memory(self, *params):
        return self.counted["peak_rss_bytes"]

    def _requests(self, *kinds):
        return sum(self.counted["requests"].get(kind, 0) for kind in kinds)

    for _name in ("put", "post", "list", "get", "head", "other"):
        locals()[f"track_{_name}_requests"].unit = "requests"
    track_stored_bytes.unit = track_peak_memory.unit = "bytes"
    track_objects.unit = "objects"
    del _name


class Reads:
    """Requests and bytes of each use case read from a converted image on S3 (level 0; ``viewer``: the multiscale
    viewer's first view), counted once per environment at 20 ms per request."""

    params = (DATA, CHUNKS, CODECS, [*object_traffic.WORKLOADS, "viewer"])
    param_names = ["data", "chunks", "codec", "workload"]
    timeout = common.BENCHMARK_TIMEOUT
    version = common.VERSION
    setup_cache = staticmethod(setup_cache)

    def setup(self, cache, data, chunks, codec, workload):
        _check_enabled()
        if not candidate(codec, chunks):
            raise NotImplementedError(f"{codec} {chunks} is not in this grid")
        self.cost = counted(cache, layout(codec, chunks))[workload]

    def track_requests(self, *params):
        return self.cost["requests"]

    track_requests.unit = "requests"

    def track_bytes_fetched(self, *params):
        return self.cost["bytes"]

    track_bytes_fetched.unit = "bytes"

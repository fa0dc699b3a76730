"""Reading from object storage: which client, which layout, and what it costs in requests, over an S3 API.

Every benchmark here reads from an S3 endpoint on 127.0.0.1 (moto's server, in a process of its own)
through a proxy that shapes the network and counts the traffic (:mod:`zarr_cryoet.store.object_storage`).
The benchmark processes of an environment share one endpoint, kept beside the setup cache: the first
starts it and uploads the reference stores (not timed); it stops when asv's setup cache is removed after
the run. The ``client`` parameter is one of
:mod:`zarr_cryoet.engines.object_storage`'s clients (zarr-python over obstore or s3fs, zarr's fused
pipeline over obstore, the zarrs pipeline over obstore, tensorstore's ``s3`` kvstore), its requests
in flight pinned (``concurrency``, default 10). A client that cannot run here is a skip with the reason.

* ``Read``: the workloads of :mod:`zarr_cryoet.measure.object_traffic` (one XY plane, the three
  orthogonal planes, 16 particle boxes of 32³ and of 64³, the whole volume), timed over the
  ``network`` (default: 20 ms per request, a 1 Gbit/s link), every read checked;
* ``Traffic``: what each workload and opening the array cost: requests (every kind), read amplification
  (bytes fetched ÷ bytes selected), the most requests in flight; counted once per environment at 20 ms
  per request (the bytes and the requests by kind are in the memo beside the setup cache);
* ``OpenImage`` / ``ImageTraffic``: opening the portal's OME-Zarr image (group and its three levels),
  as the portal stores it (no ``.zmetadata``) and with consolidated metadata;
* ``Concurrency``: the full read of 32³ chunks (64 objects) at 8 and 64 requests in flight (full grid: 1,
  8, 32, 64), 20 ms each: where each client stops gaining. Not in the default run nor the nightly job (a
  one-off question: ``--bench object_storage.Concurrency``).

Default grid: plain 64³ chunks on format 2 and 32³ chunks in 128³ shards on format 3 (the format follows
from the chunks); the main clients (zarr-python over obstore and over s3fs, tensorstore); timed: the XY plane
and the full read; counted: those, the 32³ particle boxes and the open; one network. ``ZARR_CRYOET_FULL=1``
adds zarr's fused pipeline and the zarrs pipeline, the orthogonal planes and the particle boxes to the
timings, 64³ boxes to the counts, 0 and 100 ms and a 100 Mbit/s link.
"""

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

from zarr_cryoet.data import ome_zarr
from zarr_cryoet.engines import object_storage as clients
from zarr_cryoet.measure import object_traffic
from zarr_cryoet.store import stores
from zarr_cryoet.util.files import write_atomically
from zarr_cryoet.store.object_storage import S3Endpoint
from zarr_cryoet.store.shaping_proxy import Shaping

from . import common
from .suite import FormatFollowsChunks, InSession, LayoutSuite, ReadBenchmark, StorageBenchmark, _Benchmark

#: the network the S3 traffic is counted over: with 20 ms per request, "most requests in flight" means what it says
TRAFFIC_NETWORK = (0.020, 1e9)


def counted_traffic(cache: dict, layout: stores.Layout | None, client, workload: str, workloads=None) -> dict:
    """What ``workload`` (one of :data:`zarr_cryoet.measure.object_traffic.WORKLOADS`, ``"open"``, or
    ``"open image plain"`` / ``"open image consolidated"`` with ``layout`` None) cost ``client`` over S3, as a dict
    of :class:`~zarr_cryoet.measure.object_traffic.Cost` (or ``{"failed": message}``).

    Counted once per setup cache for ``workloads`` (default: every one) of the layout and client together, on the
    shared endpoint at 20 ms per request; every read is checked against the volume."""
    memo = Path(cache["dir"], "object_traffic", f"{layout.slug if layout else 'image'}_{client.name}.json")
    if not memo.is_file() or workload not in json.loads(memo.read_text()):
        counted = {}
        with S3Endpoint.shared(cache["dir"]) as s3:
            s3.shape(Shaping(*TRAFFIC_NETWORK))
            if layout is None:
                for metadata in ("plain", "consolidated"):
                    key = f"{metadata}/{ome_zarr.PORTAL_KEY}"
                    s3.put_tree(portal_image(cache, consolidated=metadata == "consolidated"), key)
                    counted[f"open image {metadata}"] = object_traffic.open_traffic(
                        client, s3, key, group=True, consolidated=metadata == "consolidated", levels=ome_zarr.LEVELS)
            else:
                s3.put_tree(common.reference_store(cache, layout), layout.slug)
                counted["open"] = object_traffic.open_traffic(client, s3, layout.slug, zarr_format=layout.zarr_format)
                volume, particles = common.expected_volume(cache, layout), common.reference_particles(cache)
                for name in workloads or object_traffic.WORKLOADS:
                    counted[name] = object_traffic.read_traffic(client, s3, layout.slug, layout.zarr_format, name,
                                                                volume, particles)
        write_atomically(memo, json.dumps({k: v.to_dict() for k, v in counted.items()}))
    return json.loads(memo.read_text())[workload]


def portal_image(cache: dict, *, consolidated: bool) -> str:
    """The volume as the CryoET Data Portal's OME-Zarr image (:mod:`zarr_cryoet.data.ome_zarr`), written once per
    setup cache (into a temporary directory, then renamed into place)."""
    path = Path(cache["dir"], "portal", "consolidated" if consolidated else "plain", "image.zarr")
    if not path.is_dir():
        path.parent.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=path.parent.parent))
        try:
            ome_zarr.write_portal_image(staging / "image.zarr", common.reference_volume(cache), consolidated=consolidated)
            path.parent.mkdir(exist_ok=True)
            os.replace(staging / "image.zarr", path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return str(path)


CLIENTS = list(clients.CLIENT_NAMES)
#: the main clients in the default grid (zarr-python over obstore and over s3fs, tensorstore); the full grid adds
#: zarr's fused pipeline and the zarrs pipeline (both over obstore)
CLIENT_GRID = common.grid(default=["zarr-python+obstore", "zarr-python+s3fs", "tensorstore"], full=CLIENTS)
CHUNKINGS = ["64x64x64", "32x32x32/128x128x128"]
#: the networks between client and store: a round trip per request and a link shared by all answers
NETWORKS = {"20ms-1gbit": Shaping(0.020, 1e9), "0ms-1gbit": Shaping(0.0, 1e9), "100ms-1gbit": Shaping(0.100, 1e9),
            "20ms-100mbit": Shaping(0.020, 1e8)}
NETWORK_GRID = common.grid(default=["20ms-1gbit"], full=list(NETWORKS))
#: the timed workloads; the counted ones (``Traffic``, cheap) add the 32³ particle boxes to the default grid
WORKLOAD_GRID = common.grid(default=["xy", "full"], full=list(object_traffic.WORKLOADS))
COUNTED_WORKLOADS = common.grid(default=["xy", "box32", "full"], full=list(object_traffic.WORKLOADS))
CONCURRENCY = common.grid(default=[8, 64], full=[1, 8, 32, 64])
SWEEP_LAYOUT = stores.Layout.from_spec("blosc-zstd", "32x32x32", 2)
IMAGE_METADATA = ["plain", "consolidated"]



suite = FormatFollowsChunks({"chunks": CHUNKINGS, "client": CLIENT_GRID}, codec="blosc-zstd")
LAYOUTS = suite.layouts + [SWEEP_LAYOUT]  # built by the shared setup cache (common.LAYOUT_MODULES)

_endpoint: S3Endpoint | None = None


def endpoint(cache: dict) -> S3Endpoint:
    """The S3 endpoint this environment's benchmark processes share (beside the setup cache), attached once per
    process and detached when it exits."""
    global _endpoint
    if _endpoint is None:
        _endpoint = S3Endpoint.shared(cache["dir"])
        atexit.register(_endpoint.stop)
    return _endpoint


def uploaded(cache: dict, directory: str, key: str) -> str:
    """``key``, after uploading ``directory`` there (the shared endpoint does it once)."""
    endpoint(cache).put_tree(directory, key)
    return key


def available(client_name: str, zarr_format: int) -> clients.S3Client:
    """The client, or a skip (NotImplementedError) saying why it cannot read ``zarr_format`` here."""
    client = clients.get(client_name)
    reason = client.unavailable(zarr_format)
    if reason:
        raise NotImplementedError(reason)
    return client


class S3ReadBenchmark(InSession, ReadBenchmark):
    """A :class:`ReadBenchmark` whose array is opened from the endpoint by the ``client`` parameter."""

    def open(self, cache, layout, params):
        client = available(params["client"], layout.zarr_format)
        s3 = endpoint(cache)
        key = uploaded(cache, common.reference_store(cache, layout), layout.slug)
        s3.shape(NETWORKS[params.get("network", NETWORK_GRID[0])])
        self.enter_session(client.session(params.get("concurrency")))
        return client.open(s3, key, layout.zarr_format)


def workload(name: str):
    """The selections of :mod:`~zarr_cryoet.measure.object_traffic`'s workload ``name`` (a read class's reader)."""
    def selections(shape, cache, params):
        return object_traffic.selections(name, shape, common.reference_particles(cache))
    return selections


Read = suite.read_class(common.REMOTE, base=S3ReadBenchmark, params={"network": NETWORK_GRID},
                        **{f"time_read_{w}": workload(w) for w in WORKLOAD_GRID})

sweep_suite = LayoutSuite({"client": CLIENTS, "concurrency": CONCURRENCY}, codec=SWEEP_LAYOUT.codec,
                          chunks=SWEEP_LAYOUT.spec, zarr_format=SWEEP_LAYOUT.zarr_format)
Concurrency = sweep_suite.read_class(common.REMOTE, name="Concurrency", base=S3ReadBenchmark,
                                     time_read_full=workload("full"))


class Traffic(StorageBenchmark):
    """Requests, bytes, amplification and requests in flight of every workload and of opening the array, counted
    at the proxy once per environment (20 ms per request, so that the in-flight count means what it says)."""

    suite = suite
    params = (*suite.params, ["open", *COUNTED_WORKLOADS])
    param_names = [*suite.param_names, "workload"]

    def setup(self, cache, data, chunks, client, workload):
        layout = suite.layout({"chunks": chunks})
        self.cost = counted_traffic(cache, layout, available(client, layout.zarr_format), workload,
                                           COUNTED_WORKLOADS)
        if "failed" in self.cost:
            # a finding, not a crash: asv shows the combination skipped, with the client's message
            raise NotImplementedError(f"{client} failed to {workload} {layout.slug} from S3: {self.cost['failed']}")

    def track_requests(self, *params):
        return self.cost["total_requests"]

    track_requests.unit = "requests"

    def track_read_amplification(self, *params):
        return self.cost["amplification"]

    track_read_amplification.unit = "fetched / selected"

    def track_max_in_flight(self, *params):
        return self.cost["max_in_flight"]

    track_max_in_flight.unit = "requests"


def _image(cache, metadata: str) -> str:
    """The portal-layout image's key on this process's endpoint (uploaded once)."""
    path = portal_image(cache, consolidated=metadata == "consolidated")
    return uploaded(cache, path, f"{metadata}/{ome_zarr.PORTAL_KEY}")


@common.sampled(common.REMOTE)
class OpenImage(InSession, _Benchmark):
    """Opening the portal's OME-Zarr image: the group and its three levels' arrays, over the ``network``."""

    version = common.TIME_VERSION
    group = None
    params = (common.DATA, IMAGE_METADATA, CLIENT_GRID, NETWORK_GRID)
    param_names = ["data", "metadata", "client", "network"]

    def setup(self, cache, data, metadata, client, network):
        self.client = available(client, 2)
        if isinstance(self.client, clients.TensorStoreS3):
            raise NotImplementedError("tensorstore opens arrays, not groups")
        self.key = _image(cache, metadata)
        endpoint(cache).shape(NETWORKS[network])
        self.enter_session(self.client.session())
        self.group = None

    def time_open(self, cache, data, metadata, client, network):
        self.group = self.client.open_group(endpoint(cache), self.key, metadata == "consolidated")
        self.levels = [self.group[str(i)] for i in range(ome_zarr.LEVELS)]

    def teardown(self, cache, data, metadata, client, network):
        try:
            if self.group is not None and self.levels[0].shape != common.reference_volume(cache).shape:
                raise AssertionError(f"the image's level 0 has shape {self.levels[0].shape}, not the volume's")
        finally:
            super().teardown(cache, data, metadata, client, network)


class ImageTraffic(_Benchmark):
    """Requests and bytes of opening the portal's image (group and three levels), counted once per environment."""

    params = (common.DATA, IMAGE_METADATA, CLIENT_GRID)
    param_names = ["data", "metadata", "client"]

    def setup(self, cache, data, metadata, client):
        self.cost = counted_traffic(cache, None, available(client, 2), f"open image {metadata}")
        if "failed" in self.cost:
            raise NotImplementedError(f"{client}: {self.cost['failed']}")

    def track_requests(self, *params):
        return self.cost["total_requests"]

    track_requests.unit = "requests"

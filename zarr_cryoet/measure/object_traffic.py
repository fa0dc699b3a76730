"""What a read from object storage costs in requests and bytes: the S3 tier's workloads, counted at the proxy.

The workloads (:data:`WORKLOADS`), each a list of selections read one after another, as a user's
program would ask for them:

* ``xy``: the middle XY plane (a viewer's first image);
* ``orthogonal``: the middle XY, XZ and YZ planes (an orthogonal viewer);
* ``box32`` / ``box64``: 16 particle boxes of 32³ / 64³ voxels (sub-tomogram averaging, picking);
* ``full``: the whole volume (training, conversion).

:func:`read_traffic` reads one workload through an :class:`~zarr_cryoet.engines.object_storage.S3Client`
from an :class:`~zarr_cryoet.store.object_storage.S3Endpoint`, checks every voxel against the volume,
and returns what crossed the proxy: requests by kind, bytes, the most in flight, and the **read
amplification**, bytes fetched ÷ bytes the selections hold. :func:`open_traffic` does the same for
opening an array or a multiscale group. A client that fails is a finding (:class:`Failed`, with its
message), never a crash of the whole table.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from zarr_cryoet.store import access

WORKLOADS = ("xy", "orthogonal", "box32", "box64", "full")


def selections(workload: str, shape, particles=None) -> list:
    """The selections of ``workload`` on a volume of ``shape`` (particle boxes centred on ``particles``)."""
    middle = access.middle_planes(shape)
    if workload == "xy":
        return [middle["xy"]]
    if workload == "orthogonal":
        return list(middle.values())
    if workload in ("box32", "box64"):
        return access.particle_boxes(shape, int(workload[3:]), centres=particles)
    if workload == "full":
        return [(slice(None),) * 3]
    raise ValueError(f"unknown workload {workload!r}; use one of {', '.join(WORKLOADS)}")


@dataclass(frozen=True)
class Cost:
    """What one workload (or opening) cost: requests by kind, bytes fetched and selected, most in flight, seconds."""

    requests: dict
    bytes: int
    selected_bytes: int
    max_in_flight: int
    seconds: float

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def amplification(self) -> float:
        """Bytes fetched ÷ bytes selected (NaN for an open, which selects nothing)."""
        return self.bytes / self.selected_bytes if self.selected_bytes else float("nan")

    def to_dict(self) -> dict:
        return {**asdict(self), "total_requests": self.total_requests, "amplification": self.amplification}


@dataclass(frozen=True)
class Failed:
    """A client that could not do the workload on this layout: the finding is its message."""

    message: str

    @classmethod
    def of(cls, err: BaseException) -> Failed:
        """The exception's type and first line."""
        first = str(err).splitlines()[0] if str(err) else ""
        return cls(f"{type(err).__name__}: {first}"[:300])

    def to_dict(self) -> dict:
        return {"failed": self.message}


def _cost(endpoint, selected_bytes: int, seconds: float) -> Cost:
    traffic = endpoint.traffic()
    return Cost(dict(traffic.requests), traffic.bytes, selected_bytes, traffic.max_in_flight, seconds)


def read_traffic(client, endpoint, key: str, zarr_format: int, workload: str, volume: np.ndarray,
                 particles=None, concurrency: int | None = None) -> Cost | Failed:
    """Open ``key`` (not counted), read ``workload`` with ``client`` and count it; every read is checked."""
    try:
        with client.session(concurrency):
            array = client.open(endpoint, key, zarr_format)
            endpoint.reset()
            chosen = selections(workload, volume.shape, particles)
            t0 = time.perf_counter()
            results = [array[s] for s in chosen]
            seconds = time.perf_counter() - t0
    except Exception as err:  # noqa: BLE001 - a client's failure is a finding of the table
        return Failed.of(err)
    for selection, result in zip(chosen, results):
        if not np.array_equal(np.asarray(result), volume[selection]):
            raise AssertionError(f"{client.name} read {selection} of {key} from S3 and got other data")
    selected = access.selected_voxels(chosen, volume.shape) * volume.dtype.itemsize
    return _cost(endpoint, selected, seconds)


def open_traffic(client, endpoint, key: str, *, zarr_format: int | None = None, group: bool = False,
                 consolidated: bool = False, levels: int = 0) -> Cost | Failed:
    """Count opening ``key``: an array (``zarr_format``), or a multiscale group and its first ``levels`` levels'
    arrays (``group``; with its consolidated metadata if ``consolidated``)."""
    endpoint.reset()
    try:
        with client.session():
            t0 = time.perf_counter()
            if group:
                node = client.open_group(endpoint, key, consolidated)
                for level in range(levels):
                    node[str(level)]  # noqa: B018 - opening a level's array is the point
            else:
                client.open(endpoint, key, zarr_format)
            seconds = time.perf_counter() - t0
    except NotImplementedError as err:
        return Failed(str(err))
    except Exception as err:  # noqa: BLE001 - as in read_traffic
        return Failed.of(err)
    return _cost(endpoint, 0, seconds)

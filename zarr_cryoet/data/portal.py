"""Looking up a tomogram on the CryoET Data Portal.

The lookup goes through the official ``cryoet_data_portal`` client (metadata
only; nothing here downloads voxels). :func:`find_tomogram` answers "which
OME-Zarr should the suite read for dataset D (and run R)?" with a
:class:`PortalTomogram`, or raises an error whose one-line message says what
went wrong and what to do:

* :class:`PortalUnreachableError`: the portal could not be asked (network,
  DNS, refused connection, HTTP errors, a malformed or rejected answer);
* :class:`PortalNotFoundError`: the portal answered, but has no such dataset
  or run.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Callable, TypeVar

import cryoet_data_portal as cdp
import requests
from gql.transport.exceptions import TransportError, TransportQueryError

from zarr_cryoet.data.sources import DEFAULT_DATASET  # noqa: F401  (defined there: sources stays light)
from zarr_cryoet.util.errors import ZarrCryoetError

#: How many run names a "run not found" message lists.
RUNS_SHOWN = 5

T = TypeVar("T")


class PortalError(ZarrCryoetError):
    """Base class of the errors raised while asking the CryoET Data Portal."""


class PortalUnreachableError(PortalError, ConnectionError):
    """The portal could not be asked, or did not give a usable answer.

    ``reason`` is the first half of the message (what happened, without the advice).
    """

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


class PortalNotFoundError(PortalError, LookupError):
    """The portal has no tomogram for the requested dataset or run."""


@dataclass(frozen=True)
class PortalTomogram:
    """One tomogram on the portal: where its OME-Zarr lives, and what it is."""

    dataset_id: int
    run_name: str
    run_id: int
    tomogram_id: int
    voxel_spacing: float  # Å
    size_zyx: tuple[int, int, int]
    https_omezarr_dir: str
    s3_omezarr_dir: str
    processing: str
    reconstruction_method: str

    def as_dict(self) -> dict:
        """Plain JSON-able fields, for provenance records."""
        out = asdict(self)
        out["size_zyx"] = list(self.size_zyx)
        return out


def find_tomogram(dataset_id: int = DEFAULT_DATASET, run_name: str | None = None, *,
                  url: str | None = None, timeout: float | None = None) -> PortalTomogram:
    """The preferred tomogram of ``dataset_id`` (of its run ``run_name``, if given).

    Preference, among the matching tomograms: portal-standard ones first
    (``is_portal_standard``), then the smallest voxel spacing, then the lowest
    tomogram id, so the answer is deterministic.

    ``url`` is the portal's GraphQL endpoint (None: the client's default, the
    public portal). Round trips: one ``tomograms`` query; plus one ``runs``
    query to get the run's name when ``run_name`` is None, or to list the
    dataset's runs when ``run_name`` matches nothing. ``timeout`` (seconds) bounds
    each request and turns the client's retries off: for a quick check.
    """
    client = cdp.Client(url=url) if timeout is None else _QuickClient(url, timeout)
    filters = [cdp.Tomogram.run.dataset_id == dataset_id]
    if run_name is not None:
        filters.append(cdp.Tomogram.run.name == run_name)
    tomograms = _ask(client, lambda: cdp.Tomogram.find(client, filters))
    if not tomograms:
        raise _not_found(client, dataset_id, run_name)
    best = min(tomograms, key=_preference)
    if run_name is None:
        run = _ask(client, lambda: cdp.Run.get_by_id(client, best.run_id))
        run_name = run.name if run is not None else ""
    return PortalTomogram(
        dataset_id=int(dataset_id),
        run_name=str(run_name),
        run_id=int(best.run_id),
        tomogram_id=int(best.id),
        voxel_spacing=float(best.voxel_spacing),
        size_zyx=(int(best.size_z), int(best.size_y), int(best.size_x)),
        https_omezarr_dir=best.https_omezarr_dir,
        s3_omezarr_dir=best.s3_omezarr_dir,
        processing=best.processing,
        reconstruction_method=best.reconstruction_method,
    )


class _QuickClient(cdp.Client):
    """The portal client with a timeout per request and no retries."""

    def __init__(self, url: str | None, timeout: float):
        super().__init__(url=url)
        self.timeout = timeout

    def get_client(self):
        client = super().get_client()
        client.transport.default_timeout = self.timeout
        client.transport.retries = 0
        return client


def _preference(tomogram: cdp.Tomogram) -> tuple:
    """Sort key: portal-standard first, then finest voxel spacing, then lowest id."""
    spacing = tomogram.voxel_spacing
    return (not tomogram.is_portal_standard,
            float("inf") if spacing is None else float(spacing),
            tomogram.id)


def _not_found(client: cdp.Client, dataset_id: int, run_name: str | None) -> PortalNotFoundError:
    """The error for "no tomograms matched", naming a few runs if the run was wrong."""
    no_dataset = PortalNotFoundError(
        f"dataset {dataset_id} has no tomograms on the CryoET Data Portal; check the dataset id")
    if run_name is None:
        return no_dataset
    runs = _ask(client, lambda: cdp.Run.find(client, [cdp.Run.dataset_id == dataset_id]))
    names = sorted(run.name for run in runs)
    if not names:
        return no_dataset
    if run_name in names:
        return PortalNotFoundError(
            f"run {run_name!r} of dataset {dataset_id} has no tomograms on the CryoET Data Portal; "
            f"choose another run")
    listed = ", ".join(names[:RUNS_SHOWN])
    if len(names) > RUNS_SHOWN:
        listed += f" (and {len(names) - RUNS_SHOWN} more)"
    return PortalNotFoundError(
        f"run {run_name!r} not found in dataset {dataset_id}; available runs include: {listed}")


def _ask(client: cdp.Client, query: Callable[[], T]) -> T:
    """Run ``query``, turning any transport failure into :class:`PortalUnreachableError`."""
    try:
        return query()
    except TransportQueryError as exc:
        reason = f"the CryoET Data Portal at {client.url} rejected the query ({_one_line(exc)})"
        raise PortalUnreachableError(
            f"{reason}; upgrade cryoet-data-portal, or use --source phantom or a cached crop", reason) from exc
    except (TransportError, requests.RequestException, OSError) as exc:
        reason = f"cannot reach the CryoET Data Portal at {client.url} ({_reason(exc)})"
        raise PortalUnreachableError(
            f"{reason}; check the network, or use --source phantom or a cached crop", reason) from exc


def _reason(exc: BaseException) -> str:
    """A short reason: the OS error if there is one (``[Errno 111] Connection refused``)."""
    errno = re.search(r"\[Errno -?\d+\] [^'\")]+", str(exc))
    return " ".join(errno.group(0).split()) if errno else _one_line(exc)


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"

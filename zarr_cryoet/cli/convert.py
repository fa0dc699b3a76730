"""``zarr-cryoet convert``: the conversion tier's code on one's own collection (MRC files → multiscale OME-Zarr).

The same :func:`zarr_cryoet.data.conversion.convert` the benchmarks time, one tomogram per task, on a local cluster
of ``--workers`` processes or on a running ``dask.distributed`` scheduler (``--scheduler tcp://…``, a lab's
cluster). The destination is a local directory or ``s3://BUCKET/PREFIX`` (obstore; endpoint ``$AWS_ENDPOINT_URL``
and credentials from the environment). Nothing is overwritten: an image that exists is an error before any work.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from zarr_cryoet.util.errors import ZarrCryoetError


class ConvertError(ZarrCryoetError, ValueError):
    """Bad input to ``zarr-cryoet convert``."""


def add_parsers(sub) -> None:
    parser = sub.add_parser("convert", help="convert MRC files into multiscale OME-Zarr images (levels 0/1/2, "
                                            "ome-zarr) on a dask cluster, to a directory or s3://BUCKET/PREFIX")
    parser.add_argument("files", nargs="+", help="MRC files, one image each (named after the file)")
    parser.add_argument("--to", required=True, help="a directory, or s3://BUCKET/PREFIX ($AWS_ENDPOINT_URL)")
    parser.add_argument("--chunks", default="64x64x64",
                        help="chunk shape, or CHUNKS/SHARDS for shards on zarr format 3 (default 64x64x64)")
    parser.add_argument("--codec", default="blosc-zstd", help="codec (default blosc-zstd; the portal's: blosc-lz4)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="worker processes of a local cluster (default: one per core)")
    parser.add_argument("--scheduler", help="address of a running dask.distributed scheduler (instead of --workers)")
    parser.set_defaults(func=cmd_convert)


def destination_for(target: str):
    """The :class:`~zarr_cryoet.data.conversion.Destination` of ``--to``."""
    from zarr_cryoet.data.conversion import Destination

    if not target.startswith("s3://"):
        return Destination(str(Path(target).resolve()))
    bucket, _, prefix = target.removeprefix("s3://").partition("/")
    if not bucket or not prefix.strip("/"):
        raise ConvertError(f"--to {target}: give s3://BUCKET/PREFIX (a prefix for the images)")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    s3 = {"bucket": bucket, "config": {"aws_endpoint": endpoint} if endpoint else {}}
    if endpoint and endpoint.startswith("http://"):
        s3["client_options"] = {"allow_http": True}
    return Destination(prefix.strip("/"), s3=s3)


def cmd_convert(args) -> int:
    from zarr_cryoet.data import conversion
    from zarr_cryoet.store.stores import Layout

    reason = conversion.unavailable()
    if reason:
        raise ConvertError(f"cannot convert here: {reason}; run it in .venv (python3 tasks.py test installs it)")
    files = [Path(f) for f in args.files]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ConvertError(f"no such file: {', '.join(missing)}; give existing MRC files")
    names = [f.stem + ".zarr" for f in files]
    if len(set(names)) != len(names):
        raise ConvertError("two files would make images of the same name; give files with different names")
    if args.workers < 1:
        raise ConvertError(f"--workers {args.workers}: give 1 or more")
    layout = Layout.from_spec(args.codec, args.chunks)
    destination = destination_for(args.to)
    taken = [n for n in names if conversion.stored(destination, n)[1]]
    if taken:
        raise ConvertError(f"{args.to} already has {', '.join(taken)}; choose another --to (nothing is overwritten)")
    client = _client(args)
    try:
        started = time.perf_counter()
        converted = conversion.convert(client, [str(f) for f in files], destination, layout, names)
        seconds = time.perf_counter() - started
    finally:
        conversion.close_cluster(client)
    for c in converted:
        print(f"{args.to.rstrip('/')}/{c.name}: levels {', '.join('×'.join(map(str, s)) for s in c.shapes)}; "
              f"peak memory of its worker {c.peak_rss_bytes / 2 ** 20:,.0f} MiB")
    print(f"{len(converted)} tomograms in {seconds:.1f} s ({len(converted) * 3600 / seconds:,.0f} per hour), "
          f"{layout.label} {layout.codec}")
    return 0


def _client(args):
    from zarr_cryoet.data import conversion

    if args.scheduler:
        from distributed import Client

        return Client(args.scheduler)
    return conversion.local_cluster(args.workers)

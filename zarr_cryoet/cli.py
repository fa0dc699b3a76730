"""The ``zarr-cryoet`` command: fetch real tomogram crops and describe any source.

    zarr-cryoet fetch --source portal:10445 [--run TS_100_3] [--size 128]
    zarr-cryoet info  --source mrc:/data/tomo.mrc
    zarr-cryoet viz   --source phantom --out data/output/cryoet_viz
    zarr-cryoet report --results .asv/results --out data/output

Errors print one line (what is wrong and how to fix it) and exit with status 2;
an interrupted command exits with 130 and leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

from . import sources
from .codecs import CODECS
from .crop import DEFAULT_CROP_SIZE
from .errors import ZarrCryoetError
from .stores import Layout, inspect_store, write_store

INFO_CHUNKS = (64, 64, 64)


def _add_source_options(parser: argparse.ArgumentParser, default_source: str) -> None:
    parser.add_argument("--source", default=os.environ.get(sources.SOURCE_ENV) or default_source,
                        help="phantom[:SIZE], portal:DATASET[/RUN], mrc:PATH or zarr:PATH_OR_URL "
                             f"(default: ${sources.SOURCE_ENV} or %(default)s)")
    parser.add_argument("--size", default=str(DEFAULT_CROP_SIZE),
                        help="crop edge in voxels, or Z,Y,X, or 'full' (default: %(default)s)")
    parser.add_argument("--offset", help="crop start Z,Y,X in voxels (default: centred)")
    parser.add_argument("--level", type=int, help="OME-Zarr multiscale level (default: 0)")
    parser.add_argument("--portal-url", default=os.environ.get(sources.PORTAL_URL_ENV),
                        help="GraphQL endpoint of the CryoET Data Portal (default: the public portal)")


def _request(args) -> sources.SourceRequest:
    spec = args.source
    if getattr(args, "run", None):
        if not spec.startswith("portal"):
            raise sources.InvalidSourceError("--run only applies to --source portal:DATASET")
        dataset = spec.partition(":")[2].partition("/")[0] or "10445"
        spec = f"portal:{dataset}/{args.run}"
    return sources.parse_source(spec, size=args.size, offset=args.offset, level=args.level,
                                portal_url=args.portal_url)


def cmd_fetch(args) -> int:
    request = _request(args)
    if request.kind != "portal":
        raise sources.InvalidSourceError(
            f"fetch downloads portal crops, not {request.spec!r}; use --source portal:DATASET[/RUN]")
    from .cache import portal_crop

    dataset, run = sources.portal_ids(request.target, request.spec)
    volume, provenance = portal_crop(dataset, run, size=request.size, offset=request.offset,
                                     url=request.portal_url, progress=True, refresh=args.refresh)
    print(f"cached {volume.shape[0]}x{volume.shape[1]}x{volume.shape[2]} float32 crop of tomogram "
          f"{provenance.get('tomogram_id')} (dataset {provenance.get('dataset_id')}, run "
          f"{provenance.get('run_name')}) in {provenance['cache']}")
    return 0


def codec_ratios(volume: np.ndarray) -> dict[str, float]:
    """Lossless ratio of every registered codec, measured like the benchmarks (64³ chunks, files on disk)."""
    chunks = tuple(min(c, n) for c, n in zip(INFO_CHUNKS, volume.shape))
    ratios = {}
    with tempfile.TemporaryDirectory(prefix="zarr-cryoet-info-") as tmp:
        for name in CODECS:
            path = write_store(os.path.join(tmp, name), volume, Layout(name, chunks, 2))
            ratios[name] = inspect_store(path).compression_ratio(volume.nbytes)
    return ratios


def cmd_info(args) -> int:
    data = sources.load(_request(args), progress=False)
    volume, prov = data.volume, data.provenance
    print(f"source        {prov['source']}")
    for key in ("dataset_id", "run_name", "tomogram_id", "https_omezarr_dir", "path", "array_path",
                "level", "crop", "cache", "sha256"):
        if prov.get(key) not in (None, ""):
            print(f"{key:<13} {prov[key]}")
    print(f"shape         {volume.shape} (z, y, x)")
    print(f"dtype         {volume.dtype}")
    print(f"voxel size    {_voxel_text(prov.get('voxel_size') or prov.get('voxel_spacing'))}")
    v = volume.astype(np.float64)
    print(f"min / max     {v.min():.6g} / {v.max():.6g}")
    print(f"mean / std    {v.mean():.6g} / {v.std():.6g}")
    print(f"lossless compression ratio ({'x'.join(map(str, INFO_CHUNKS))} chunks, bytes on disk):")
    for name, ratio in codec_ratios(volume).items():
        print(f"  {CODECS[name].label:<15} {ratio:.3f}x")
    return 0


def cmd_viz(args) -> int:
    from .viz import write_all

    data = sources.load(_request(args))
    for path in write_all(data.volume, args.out, dpi=args.dpi, provenance=data.provenance):
        print(path)
    return 0


def cmd_report(args) -> int:
    from .report import report

    for path in report(args.results, args.out, machine=args.machine, commit=args.commit, dpi=args.dpi):
        print(path)
    return 0


def _voxel_text(voxel) -> str:
    if voxel is None:
        return "unknown"
    if isinstance(voxel, (list, tuple)):
        voxel = voxel[0] if len(set(voxel)) == 1 else " x ".join(f"{v:g}" for v in voxel)
    return f"{voxel:g} Å" if isinstance(voxel, float) else f"{voxel} Å"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zarr-cryoet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="download a crop of a portal tomogram into the local cache",
                           description="Look a tomogram up on the CryoET Data Portal, read only a crop "
                                       "of its OME-Zarr and cache it with its provenance.")
    _add_source_options(fetch, "portal:10445")
    fetch.add_argument("--run", help="run name, e.g. TS_100_3 (default: the first portal-standard tomogram)")
    fetch.add_argument("--refresh", action="store_true", help="fetch again even if cached")
    fetch.set_defaults(func=cmd_fetch)
    info = sub.add_parser("info", help="describe a source: provenance, statistics, codec ratios",
                          description="Load a source (cached portal crops need no network) and print "
                                      "its provenance, statistics and the ratio of every codec.")
    _add_source_options(info, sources.DEFAULT_SOURCE)
    info.set_defaults(func=cmd_info)
    viz = sub.add_parser("viz", help="draw the data: orthogonal slices, histogram, statistics",
                         description="Write cryoet_quick_viz.png, cryoet_data_slices.png and "
                                     "cryoet_distribution.png for a source.")
    _add_source_options(viz, sources.DEFAULT_SOURCE)
    viz.add_argument("--out", default=os.path.join("data", "output", "cryoet_viz"),
                     help="output directory (default: %(default)s)")
    viz.add_argument("--dpi", type=int, choices=[150, 300], default=150,
                     help="150 for the web, 300 for print (default: %(default)s)")
    viz.set_defaults(func=cmd_viz)
    rep = sub.add_parser("report", help="tables and figures of the asv results (codecs, chunking, zarr versions)",
                         description="Read asv's results for one machine and commit and write CSVs and figures "
                                     "under --out: cryoet_benchmarks/, chunking_benchmarks/, version_comparison/.")
    rep.add_argument("--results", default=os.path.join(".asv", "results"),
                     help="asv results directory (default: %(default)s)")
    rep.add_argument("--machine", help="asv machine name (default: the only one)")
    rep.add_argument("--commit", help="commit hash or prefix (default: the latest by date)")
    rep.add_argument("--out", default=os.path.join("data", "output"), help="output directory (default: %(default)s)")
    rep.add_argument("--dpi", type=int, choices=[150, 300], default=150,
                     help="150 for the web, 300 for print (default: %(default)s)")
    rep.set_defaults(func=cmd_report)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ZarrCryoetError, OSError) as err:
        print(f"zarr-cryoet: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("zarr-cryoet: interrupted; nothing was cached", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

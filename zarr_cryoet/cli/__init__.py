"""zarr-cryoet: which Zarr layout to use for a tomogram, from the asv benchmarks of this project.

Answers:
  zarr-cryoet recommend                        which layout per use case, from one asv run (portal size)
  zarr-cryoet recommend --shape 400,1000,1000 --use viewer,particles,training
                                               the answer at your size, and one layout for those uses
  zarr-cryoet recommend --source mrc:t.mrc     the same, from a focused run on your own data (minutes)
  zarr-cryoet decide                           more processes where the portal-size answer cannot tell
                                               its best layout from the runner-up (tasks.py benchmark does it)
  zarr-cryoet report --out data/output         tables and figures of that run (prints the summary too)
  zarr-cryoet readme [--check] README.md       rewrite (or check) the README's generated tables
  zarr-cryoet command-times                    how long the README's two commands took, at which commit
  zarr-cryoet instructions --counts recorded/counts   instructions per call per zarr release, beside the times

Without --results, recommend and report read .asv/results once it holds results, else the run
recorded in this repository (recorded/results), so they answer before any benchmarking.

Data:
  zarr-cryoet fetch --source portal:10445      cache a crop of a CryoET Data Portal tomogram
  zarr-cryoet info  --source mrc:/data/t.mrc   provenance, statistics and codec ratios of a source
  zarr-cryoet viz   --source phantom           slices, histogram and statistics of a source
  zarr-cryoet check-source                     can the benchmarks load $ZARR_CRYOET_SOURCE here?
  zarr-cryoet convert *.mrc --to s3://b/prefix   your collection into multiscale OME-Zarr on a dask cluster

Nightly job and dashboard:
  zarr-cryoet nightly                          run new commits, publish, exit 1 on a regression
  zarr-cryoet screenshot --out dashboard.png   the published dashboard, rendered by Chromium
  zarr-cryoet offline-dashboard --html html    make html/ work without internet
  zarr-cryoet restate                          the suite's statistic into asv's result files (after asv run)
  zarr-cryoet both-cores                       the one-core tier as two asv runs at once, one per core
                                               (tasks.py benchmark does it)
  zarr-cryoet alarm-proof                      the alarm against injected 10 % and 25 % slowdowns
  zarr-cryoet backfill-shard --range A..B --shard 2/4 --zarr 3.1.6 --machine M --out DIR
                                               one backfill job (.github/workflows/backfill.yml)
  zarr-cryoet merge-results DIR...             join the shards into the results branch, publish

Measurement quality:
  zarr-cryoet overhead                         asv's wall time against the time inside timed samples
  zarr-cryoet stability --machine A --machine B   runs of one commit: agreement, smallest detectable change
  zarr-cryoet crosscheck [--engines | --lossy] the headline results again, by a plain loop outside asv
  zarr-cryoet schedule-study                   which statistic and schedule reproduce on this machine
  zarr-cryoet intervals RUN...                 this machine's interval bands from A/A runs, their coverage,
                                               and the comparison rule proven on them (tools/aa_runs.py)

Errors print one line (what is wrong and how to fix it) and exit with status 2;
an interrupted command exits with 130 and leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from zarr_cryoet.asv import options
from zarr_cryoet.data import sources
from zarr_cryoet.data.request import PORTAL_VIA, PORTAL_VIA_ENV, SourceRequest
from zarr_cryoet.store.codecs import CODECS
from zarr_cryoet.data.crop import DEFAULT_CROP_SIZE
from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.cli import checks as commands
from zarr_cryoet.cli import convert as convert_command
from zarr_cryoet.cli import tracking as tracking_commands
from zarr_cryoet.store.stores import Layout, inspect_store, write_store

INFO_CHUNKS = (64, 64, 64)


def _add_source_options(parser: argparse.ArgumentParser, default_source: str | None) -> None:
    """--source and the crop options; ``default_source`` None: no source unless given (recommend)."""
    if default_source is None:
        parser.add_argument("--source", help="run a focused benchmark on this data first: phantom[:SIZE], "
                                             "portal:DATASET[/RUN], mrc:PATH, zarr:PATH_OR_URL or s3://BUCKET/KEY")
    else:
        parser.add_argument("--source", default=os.environ.get(sources.SOURCE_ENV) or default_source,
                            help="phantom[:SIZE], portal:DATASET[/RUN], mrc:PATH, zarr:PATH_OR_URL or s3://BUCKET/KEY "
                                 f"(default: ${sources.SOURCE_ENV} or %(default)s)")
    whole = default_source is None  # recommend --source: the whole volume unless told (docs/data.md)
    size_default = ("full, the whole volume; up to 256³: the one-core tier; a phantom is generated at that size"
                    if whole else DEFAULT_CROP_SIZE)
    parser.add_argument("--size", default=None if whole else str(DEFAULT_CROP_SIZE),
                        help=f"crop edge in voxels, or Z,Y,X, or 'full' (default: {size_default})")
    parser.add_argument("--offset", help="crop start Z,Y,X in voxels (default: centred)")
    parser.add_argument("--level", type=int, help="OME-Zarr multiscale level (default: 0)")
    parser.add_argument("--portal-url", default=os.environ.get(sources.PORTAL_URL_ENV),
                        help="GraphQL endpoint of the CryoET Data Portal (default: the public portal)")
    parser.add_argument("--via", choices=PORTAL_VIA, default=os.environ.get(PORTAL_VIA_ENV) or None,
                        help="read a portal: tomogram's OME-Zarr over https (default) or s3 (its s3_omezarr_dir; "
                             "the endpoint: $AWS_ENDPOINT_URL, else AWS)")


def _request(args) -> SourceRequest:
    """The data the options name, parsed once (``--run`` picks another run of the portal dataset)."""
    request = SourceRequest.parse(args.source, size=args.size or DEFAULT_CROP_SIZE, offset=args.offset,
                                  level=args.level, portal_url=args.portal_url, via=args.via)
    return request.with_run(args.run) if getattr(args, "run", None) else request


def cmd_fetch(args) -> int:
    request = _request(args)
    if request.kind != "portal":
        raise sources.InvalidSourceError(
            f"fetch downloads portal crops, not {request.spec!r}; use --source portal:DATASET[/RUN]")
    from zarr_cryoet.data.crop_cache import portal_crop

    volume, provenance = portal_crop(request, progress=True, refresh=args.refresh)
    print(f"cached {volume.shape[0]}x{volume.shape[1]}x{volume.shape[2]} float32 crop of tomogram "
          f"{provenance.get('tomogram_id')} (dataset {provenance.get('dataset_id')}, run "
          f"{provenance.get('run_name')}) in {provenance['cache']}")
    return 0


def cmd_check_source(args) -> int:
    request = SourceRequest.from_env()
    print(sources.check(request, timeout=args.timeout))
    machine = request.machine_name()
    if machine:  # tasks.py benchmark records the results under it
        print(f"machine: {machine}")
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
    whole = prov.get("volume_shape")
    if whole and list(whole) != list(volume.shape):
        print(f"measured      a crop of {tuple(volume.shape)} voxels starting at {tuple(prov['crop']['start'])} of the "
              f"whole {tuple(whole)} volume (choose with --size and --offset; --size full reads all of it)")
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
    from zarr_cryoet.report.viz import write_all

    data = sources.load(_request(args))
    for path in write_all(data.volume, args.out, dpi=args.dpi, provenance=data.provenance):
        print(path)
    return 0


def cmd_report(args) -> int:
    from zarr_cryoet.answer import render as answer, recommend
    from zarr_cryoet.report import report
    from zarr_cryoet.report.instructions import count_rows, release_line
    from zarr_cryoet.asv.results import ReportResults

    results = ReportResults.load(args.results, machine=args.machine, commit=args.commit)
    counts = ReportResults.load(args.counts, machine=args.machine) if args.counts else None
    for path in report(out=args.out, dpi=args.dpi, slice_codec=args.slice_codec, results=results, counts=counts):
        print(path)
    line = release_line(count_rows(counts or results, results))
    if line:
        print(f"\nInstructions per call: {line}")
    if recommend.measured_sizes(results):  # the same answer as zarr-cryoet recommend
        print()
        print(answer.render(results), end="")
    if results.other_machines:
        print(f"\nReported machine {results.machine}; also in {results.results_dir}: results of machine(s) "
              f"{', '.join(results.other_machines)}; report them with --machine NAME.")
    return 0


def cmd_recommend(args) -> int:
    from zarr_cryoet.answer import render as answer
    from zarr_cryoet.asv.results import ReportError, ReportResults
    from zarr_cryoet.tracking import focused_run

    results_dir, machine, zarr_version = args.results, args.machine, args.zarr
    focused_only = [f"--{name.replace('_', '-')}" for name in ("size", "offset", "level", "quick")
                    if getattr(args, name)] + (["--config"] if args.config != "asv.conf.json" else [])
    if focused_only and not args.source:
        raise ReportError(f"{', '.join(focused_only)} only apply to a focused run; add --source DATA, or drop them")
    if args.source:
        if args.results or args.machine or args.commit:
            raise ReportError("--source runs a new benchmark and answers from it; drop --results, --machine "
                              "and --commit (or drop --source to answer from recorded results)")
        # without --size: the whole volume (the use cases on every core); --size 128: a crop, the one-core tier
        request = SourceRequest.parse(args.source, size=args.size or "full", offset=args.offset, level=args.level,
                                      portal_url=args.portal_url, via=args.via)
        run = focused_run.run(request, zarr_version=args.zarr, config=Path(args.config), quick=args.quick)
        results_dir, machine, zarr_version = run.results_dir, run.machine, run.zarr_version
        what = "the whole volume, every core" if run.tier == focused_run.WHOLE else "a crop, one core"
        print(f"\nFocused run on {run.data} ({what}): results under machine {machine} in {results_dir}"
              + ("" if run.status == 0 else f" (asv exited with status {run.status}: some benchmarks failed)")
              + "\n")
    else:  # the full run (or the recorded one), never a focused run unless --machine names it
        results_dir, machine, note = focused_run.plain_results(results_dir, machine)
        if note:
            print(note + "\n")
    results = ReportResults.load(results_dir, machine=machine, commit=args.commit)
    print(answer.render(results, zarr_version, args.shape, args.use), end="")
    return 0


def cmd_command_times(args) -> int:
    from zarr_cryoet.report import command_times

    print(command_times.render(args.dir), end="")
    return 0


def cmd_instructions(args) -> int:
    from zarr_cryoet.report import instructions

    print(instructions.render(args.counts, args.results, machine=args.machine), end="")
    return 0


def cmd_readme(args) -> int:
    from zarr_cryoet.answer import readme

    if args.check:
        outdated = readme.stale(Path(args.path))
        for command in outdated:
            print(f"{args.path}: the block of `{command}` differs from what the command prints now")
        if outdated:
            print(f"zarr-cryoet: error: {len(outdated)} generated block(s) out of date; run zarr-cryoet readme "
                  f"{args.path}", file=sys.stderr)
            return 1
        return 0
    for command in readme.update(Path(args.path)):
        print(f"regenerated: {command}")
    return 0


def cmd_screenshot(args) -> int:
    from zarr_cryoet.tracking.dashboard import screenshot

    print(screenshot(Path(args.html), Path(args.out), benchmark=args.benchmark, size=args.size))
    return 0


def cmd_offline_dashboard(args) -> int:
    from zarr_cryoet.tracking.dashboard_assets import make_self_contained

    for line in make_self_contained(Path(args.html)):
        print(line)
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
                                       "of its OME-Zarr and cache it with its provenance. Its --source default is "
                                       "the portal's dataset 10445, not the phantom of the other commands, because "
                                       "only portal data can be fetched; the crop options are theirs.")
    _add_source_options(fetch, f"portal:{sources.DEFAULT_DATASET}")
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
                                     "under --out: cryoet_benchmarks/, chunking_benchmarks/, version_comparison/, "
                                     "access_patterns/, engines/, lossy/, measurement/.")
    options.add_run(rep)
    rep.add_argument("--out", default=os.path.join("data", "output"), help="output directory (default: %(default)s)")
    rep.add_argument("--dpi", type=int, choices=[150, 300], default=150,
                     help="150 for the web, 300 for print (default: %(default)s)")
    rep.add_argument("--counts", help="asv results with instruction counts (a run of --bench instructions) to set "
                                      "beside these timings, e.g. recorded/counts (default: the counts in --results)")
    rep.add_argument("--slice-codec", help="a lossy codec to add to lossy/lossy_slices.png (it always shows each "
                                           "tier's highest-ratio setting)")
    rep.set_defaults(func=cmd_report)
    rec = sub.add_parser("recommend", help="which layout to use, per use case, from one run's asv results",
                         description="Rank the measured layouts for an XY viewer, orthogonal views, particle "
                                     "picking, whole-volume processing and reads over HTTP, from asv's medians of "
                                     "one machine and commit: best, runner-up and worst, with their times and "
                                     "spread; then the codec, the lossy setting and the reader. With --source, "
                                     "first run a focused asv benchmark on that data (a few minutes) and answer "
                                     "from it.")
    options.add_run(rec)
    from zarr_cryoet.answer import render as answer

    answer.add_arguments(rec)
    _add_source_options(rec, None)
    options.add_config(rec, "with --source: the asv config whose environments and results directory the focused run "
                          "uses (default: %(default)s)")
    rec.add_argument("--quick", action="store_true",
                     help="with --source: one sample per benchmark (asv run --quick): an answer in about a minute, "
                          "without the spread")
    rec.set_defaults(func=cmd_recommend)
    counted = sub.add_parser("instructions", help="instructions per call of the headline cases per zarr release, "
                                                 "beside their time ratios",
                             description="The instruction counts of a run of --bench instructions (e.g. "
                                         "recorded/counts) for the headline reads and write, each newer release's "
                                         "ratio to the oldest beside its time ratio from --results.")
    counted.add_argument("--counts", required=True, help="asv results with the counts, e.g. recorded/counts")
    options.add_results(counted, "asv results with the timings (default: those of --counts)")
    options.add_machine(counted, "the machine whose results to read (default: the only one, or vm)")
    counted.set_defaults(func=cmd_instructions)
    readme_parser = sub.add_parser("readme", help="rewrite the README's generated tables from their commands",
                                   description="Run the command named in each <!-- generated by: ... --> block of "
                                               "the file and write what it prints in place; --check only compares.")
    readme_parser.add_argument("path", nargs="?", default="README.md", help="the file (default: %(default)s)")
    readme_parser.add_argument("--check", action="store_true", help="exit 1 if a block is out of date; write nothing")
    readme_parser.set_defaults(func=cmd_readme)
    times = sub.add_parser("command-times", help="how long python3 tasks.py benchmark and test took, and at which "
                                                 "commit (what the README shows)")
    times.add_argument("--dir", default="recorded/command-times",
                       help="the records' directory (tasks.py writes .asv/command-times; default: %(default)s)")
    times.set_defaults(func=cmd_command_times)
    tracking_commands.add_nightly_parser(sub)
    commands.add_parsers(sub)
    commands.add_intervals_parser(sub)
    tracking_commands.add_decide_parser(sub)
    tracking_commands.add_both_cores_parser(sub)
    tracking_commands.add_parsers(sub)
    tracking_commands.add_backfill_parsers(sub)
    convert_command.add_parsers(sub)
    shot = sub.add_parser("screenshot", help="a PNG of the published asv dashboard, rendered by headless Chromium",
                          description="Serve the dashboard on 127.0.0.1, open it in headless Chromium and save "
                                      "a screenshot of the benchmark grid or of one benchmark's graph.")
    shot.add_argument("--html", default="html", help="asv publish output (default: %(default)s)")
    shot.add_argument("--benchmark", help="a benchmark's graph, e.g. compression.Read.time_read (default: the grid)")
    shot.add_argument("--size", default="1400,900", help="window WIDTH,HEIGHT in pixels (default: %(default)s)")
    shot.add_argument("--out", default="dashboard.png", help="PNG to write (default: %(default)s)")
    shot.set_defaults(func=cmd_screenshot)
    offline = sub.add_parser("offline-dashboard", help="make the published dashboard work without internet access",
                             description="asv's index.html loads jQuery, flot and Bootstrap from CDNs. Copy them "
                                         "from the npm registry (verified, cached) into HTML/vendor and point the "
                                         "page at the copies.")
    offline.add_argument("--html", default="html", help="asv publish output (default: %(default)s)")
    offline.set_defaults(func=cmd_offline_dashboard)
    check = sub.add_parser("check-source", help="check the ZARR_CRYOET_* data settings without loading the data",
                           description="Read $ZARR_CRYOET_SOURCE, _SIZE, _OFFSET, _LEVEL and _PORTAL_URL as the "
                                       "benchmarks do and check that the data can be loaded here: a portal crop "
                                       "is cached or the portal answers, a path exists. One line either way; "
                                       "exit status 2 on a problem (tasks.py runs this before asv).")
    check.add_argument("--timeout", type=float, default=10,
                       help="seconds to wait for the portal or a server (default: %(default)s)")
    check.set_defaults(func=cmd_check_source)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ZarrCryoetError as err:
        print(f"zarr-cryoet: error: {err}", file=sys.stderr)
        return getattr(err, "exit_status", 2)
    except OSError as err:
        print(f"zarr-cryoet: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"zarr-cryoet: {args.command} interrupted; "
              + ("earlier results are kept and the next run resumes" if args.command == "nightly"
                 else "nothing was cached"), file=sys.stderr)
        return 130



"""Tables and figures of asv results: the reference gallery's outputs, made from the benchmarks.

``zarr-cryoet report`` reads what ``asv run`` left in ``.asv/results`` (with asv's own
loader, :meth:`asv.results.Results.load`) for one machine and one commit, and writes:

================================================  ==========================================================
file (under ``--out``)                            content
================================================  ==========================================================
``cryoet_benchmarks/cryoet_benchmark.csv``        per codec × zarr version × format: write / read time,
                                                  compression ratio, stored bytes, size (MB), savings (%)
``cryoet_benchmarks/cryoet_benchmark.png``        2 × 2: write time, read time, ratio, size per codec
``chunking_benchmarks/chunking_results.csv``      per chunk shape × zarr version × format: files, write,
                                                  full read, XY / XZ / YZ slice reads, compression ratio
``chunking_benchmarks/chunking_comparison.png``   2 × 3: write, reads by operation, file count (log),
                                                  ratio, storage size, slice time vs file count
``version_comparison/version_comparison.csv``     every benchmark value of every environment, long format,
                                                  with its ratio to the baseline release and, for times,
                                                  p, q, processes and the change (slower, faster, ~)
``version_comparison/version_comparison.png``     each newer release's time ÷ the baseline's per headline
                                                  benchmark, outlined where slower or faster
``access_patterns/access_results.csv``            per layout × access pattern × zarr version × format: read
                                                  time, GET requests, bytes fetched, bytes selected, the
                                                  read time as a multiple of the raw-file limit, and the
                                                  read time over HTTP with added latency (when the access
                                                  benchmarks ran)
``access_patterns/access_patterns.png``           1 × 3 per pattern and layout: local read time next to the
                                                  raw-file time of the same bytes, GET requests (log), and
                                                  the read time over HTTP with added latency
``engines/engine_comparison.csv`` and ``.png``    per layout × operation × engine: time, ratio to the
                                                  fastest engine and to the raw-I/O limit, peak memory,
                                                  GETs and the read over slow HTTP (:mod:`.engines`)
``engines/interop.csv``                           every engine reading every engine's stores: bit-exact?
``engines/engine_settings.csv``                   engine versions and the concurrency they ran with
``measurement/*``                                 page faults per read, the realistic-size tier, each timing's
                                                  smallest detectable change (:mod:`.measurement`)
``lossy/lossy_results.csv``                       per codec × zarr version × format: ratio, stored MB, write
                                                  and read time, RMSE/σ, PSNR, FSC crossings, FSC against
                                                  the truth, particle-box NCC, tier (:mod:`.lossy`)
``lossy/lossy_pareto.png``                        ratio against FSC-0.143, FSC loss against the truth, RMSE/σ
``lossy/lossy_slices.png``                        original / truth / each tier's best setting and its error
``lossy/lossy_fsc.png``                           FSC curves of the Pareto-front codecs (vs original, vs truth)
================================================  ==========================================================

Every time is the suite's statistic (the fastest of the processes, :mod:`zarr_cryoet.stats.estimate`), with its
interval and processes in ``*_low_ms``, ``*_high_ms`` and ``*_processes`` columns; every "slower", "faster" and
``~`` comes from one comparison rule (:mod:`zarr_cryoet.stats.compare`: Mann–Whitney over the processes,
Benjamini–Hochberg across a release's comparisons), with its ``p_value``, ``q_value`` and ``processes``. Every
other number is asv's stored ``result``; derived columns (``size_mb``, ``savings_pct``, ``*_ms``) are
plain unit conversions of it. Every row names its data, zarr version, Python, zarr
format, commit and machine. Skipped cells (asv's NaN, e.g. format 3 on zarr 2) and failed
ones (asv's null) are empty in the CSVs and not drawn; failed ones are reported through
``warn``. The single-version figures show the newest zarr release with zarr format 2, the
reference gallery's setting. Shapes and dtypes of the data come from the provenance the
benchmarks recorded next to the results (``provenance/`` beside the results directory);
without it the columns and panels that need the volume's size are left empty, with a
warning.

The parts: :mod:`~zarr_cryoet.asv.results` (loading asv's results),
:mod:`~zarr_cryoet.asv.families` (the benchmarks each table and figure reads),
:mod:`~zarr_cryoet.report.tables` (CSVs) and :mod:`~zarr_cryoet.report.figures` (PNGs);
this module holds the command that writes them all.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from zarr_cryoet.asv.results import DEFAULT_RESULTS, Env, ReportError, ReportResults
from zarr_cryoet.report.figures import (ACCESS_PNG, CHUNKING_PNG, COMPRESSION_PNG, FIGSIZES, VERSION_PNG,
                                        build_access_figure, build_chunking_figure, build_compression_figure,
                                        build_version_figure)
from zarr_cryoet.report.measurement import DETECTABLE_CSV, PAGE_FAULTS_CSV, PAGE_FAULTS_PNG, REALISTIC_CSV
from zarr_cryoet.report.sections import SECTIONS, Context
from zarr_cryoet.report.style import DPI_WEB
from zarr_cryoet.report.tables import (ACCESS_CSV, CHUNKING_CSV, COMPRESSION_CSV, access_rows, chunking_rows,
                                       compression_rows)
from zarr_cryoet.report.versions import VERSION_CSV, version_rows
from zarr_cryoet.store.codecs import get_codec

__all__ = [
    "ACCESS_CSV", "ACCESS_PNG", "access_rows", "build_access_figure", "CHUNKING_CSV", "CHUNKING_PNG",
    "COMPRESSION_CSV", "COMPRESSION_PNG", "DEFAULT_OUT", "DEFAULT_RESULTS", "DETECTABLE_CSV", "PAGE_FAULTS_CSV",
    "PAGE_FAULTS_PNG", "REALISTIC_CSV",
    "FIGSIZES", "VERSION_CSV", "VERSION_PNG", "Env", "ReportError", "ReportResults", "build_chunking_figure",
    "build_compression_figure", "build_version_figure", "chunking_rows", "compression_rows", "report",
    "version_rows",
]

DEFAULT_OUT = Path("data", "output")
#: each module of the default run the report reads, and what it leaves out without that module's results
SKIPPED = {section.module: section.skipped for section in SECTIONS if section.module}


def left_out(results: ReportResults) -> dict[str, str]:
    """The modules of :data:`SKIPPED` that did not run: in the suite (asv's ``benchmarks.json`` lists every
    benchmark, also after ``asv run --bench``) without results; each with what the report leaves out."""
    try:
        suite = {name.partition(".")[0] for name in json.loads((results.results_dir / "benchmarks.json").read_text())}
    except (OSError, ValueError):
        suite = set(SKIPPED)
    return {module: skipped for module, skipped in SKIPPED.items() if module in suite and not results.has(module)}


def report(results_dir=None, out=DEFAULT_OUT, *, machine: str | None = None, commit: str | None = None,
           dpi: float = DPI_WEB, warn: Callable[[str], None] | None = None,
           slice_codec: str | None = None, results: ReportResults | None = None,
           counts: ReportResults | None = None) -> list[Path]:
    """Load the results, write the CSVs and figures under ``out``; return the paths written.

    ``results`` already loaded (by the caller) are used instead of ``results_dir``/``machine``/``commit``.

    ``slice_codec`` adds a codec to ``lossy/lossy_slices.png`` (which shows each tier's highest-ratio setting).

    ``counts``: results with instruction counts (``asv run --bench instructions``) to set beside these timings
    (``measurement/instructions.csv`` and ``.png``); default: the counts in ``results``, if it has any.

    ``warn`` receives one line per problem that does not stop the report (failed
    benchmarks, a module without results, data without recorded provenance); by
    default it goes to stderr.
    """
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not dpi > 0:
        raise ReportError(f"dpi must be a positive number, got {dpi!r}; use 150 (web) or 300 (print)")
    if slice_codec is not None:
        get_codec(slice_codec)  # an unknown codec fails in one line, before anything is written
    warn = warn or _stderr_warning
    if results is None:
        results = ReportResults.load(results_dir, machine=machine, commit=commit)
    failed = results.failed()
    if failed:
        warn(f"{len(failed)} failed benchmark(s), left empty: {'; '.join(failed)}")
    for module, skipped in left_out(results).items():  # one line per module that did not run
        warn(f"no {module} results for commit {results.short_commit}; skipped {skipped}")
    context = Context(results, counts or results, Path(out), dpi, warn, slice_codec)
    written = [path for section in SECTIONS if section.applies(context) for path in section.write(context)]
    for data in results.unrecorded():
        warn(f"no provenance recorded for data {data!r} next to {results.results_dir}; sizes are left empty "
             "— rerun the benchmarks")
    return written


def _stderr_warning(message: str) -> None:
    print(f"zarr-cryoet: warning: {message}", file=sys.stderr)

"""Tables and figures of asv results: the reference gallery's outputs, made from the benchmarks.

``zarr-cryoet report`` reads what ``asv run`` left in ``.asv/results`` (with asv's own loader) for one machine and
one commit, and writes the sections of :data:`zarr_cryoet.report.sections.SECTIONS` under ``--out``, in that order;
docs/figures.md describes every CSV and figure. A module that did not run is one warning line (:data:`SKIPPED`).

Every time is the suite's statistic (the fastest of the processes, :mod:`zarr_cryoet.stats.estimate`), with its
interval and processes in ``*_low_ms``, ``*_high_ms`` and ``*_processes`` columns; every "slower", "faster" and
``~`` comes from one comparison rule (:mod:`zarr_cryoet.stats.compare`), with its ``p_value``, ``q_value`` and
``processes``. Every other number is asv's stored ``result``; derived columns (``size_mb``, ``savings_pct``,
``*_ms``) are plain unit conversions of it. Every row names its data, zarr version, Python, zarr format, commit and
machine. Skipped cells (asv's NaN, e.g. format 3 on zarr 2) and failed ones (asv's null) are empty in the CSVs and
not drawn; failed ones are reported through ``warn``. Sizes come from the provenance the benchmarks recorded next
to the results; without it they are left empty, with a warning.
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

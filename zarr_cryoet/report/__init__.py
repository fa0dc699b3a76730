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

from zarr_cryoet.report.engines import (COMPARISON_CSV, COMPARISON_PNG, INTEROP_CSV, SETTINGS_CSV, build_engine_figure,
                                       comparison_rows, interop_rows, settings_rows)
from zarr_cryoet.asv.families import (ACCESS, CHUNKING, COMPRESSION, ENGINES, INSTRUCTIONS, LIMITS, LOSSY,
                                        PROCESS_STATE, REALISTIC)
from zarr_cryoet.report.instructions import INSTRUCTIONS_CSV, INSTRUCTIONS_PNG, build_count_figure, count_rows
from zarr_cryoet.report.lossy import FSC_PNG, LOSSY_CSV, PARETO_PNG, SLICES_PNG, build_pareto_figure, lossy_rows
from zarr_cryoet.report.lossy_images import build_fsc_figure, build_slice_figure, load_volume
from zarr_cryoet.report.figures import (ACCESS_PNG, CHUNKING_PNG, COMPRESSION_PNG, FIGSIZES, VERSION_PNG,
                                        build_access_figure, build_chunking_figure, build_compression_figure,
                                        build_version_figure)
from zarr_cryoet.report import cache_state, object_storage
from zarr_cryoet.report.measurement import (DETECTABLE_CSV, PAGE_FAULTS_CSV, PAGE_FAULTS_PNG, REALISTIC_CSV,
                                            build_page_fault_figure, detectable_rows, page_fault_rows,
                                            realistic_rows)
from zarr_cryoet.asv.results import DEFAULT_RESULTS, Env, ReportError, ReportResults
from zarr_cryoet.report.style import DPI_WEB, save_figure
from zarr_cryoet.store.codecs import get_codec
from zarr_cryoet.report.tables import (ACCESS_CSV, CHUNKING_CSV, COMPRESSION_CSV, access_rows, chunking_rows,
                                       compression_rows, write_csv)
from zarr_cryoet.report.versions import VERSION_CSV, version_rows
from zarr_cryoet.asv import noise

__all__ = [
    "ACCESS_CSV", "ACCESS_PNG", "access_rows", "build_access_figure", "CHUNKING_CSV", "CHUNKING_PNG",
    "COMPRESSION_CSV", "COMPRESSION_PNG", "DEFAULT_OUT", "DEFAULT_RESULTS", "PAGE_FAULTS_CSV", "PAGE_FAULTS_PNG",
    "REALISTIC_CSV",
    "FIGSIZES", "VERSION_CSV", "VERSION_PNG", "Env", "ReportError", "ReportResults", "build_chunking_figure",
    "build_compression_figure", "build_version_figure", "chunking_rows", "compression_rows", "report",
    "version_rows",
]

DEFAULT_OUT = Path("data", "output")
#: each module of the default run the report reads, and what it leaves out without that module's results
SKIPPED = {COMPRESSION.module: f"{COMPRESSION_CSV.parent}/", CHUNKING.module: f"{CHUNKING_CSV.parent}/",
           ACCESS.module: f"{ACCESS_CSV.parent}/", ENGINES.module: f"{COMPARISON_CSV.parent}/",
           PROCESS_STATE.module: f"{PAGE_FAULTS_CSV} and .png", LOSSY.module: f"{LOSSY_CSV.parent}/",
           REALISTIC.module: str(REALISTIC_CSV), cache_state.MODULE: str(cache_state.COLD_CSV),
           object_storage.MODULE: f"{object_storage.READS_CSV.parent}/object_storage*",
           LIMITS.module: "the raw-file limit in the figures and CSVs"}


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
    out = Path(out)
    written = []
    sections = [(COMPRESSION.module, compression_rows, COMPRESSION_CSV, build_compression_figure, COMPRESSION_PNG),
                (CHUNKING.module, chunking_rows, CHUNKING_CSV, build_chunking_figure, CHUNKING_PNG)]
    for module, rows, csv_path, build, png_path in sections:
        if not results.has(module):
            continue  # warned above
        if len(results.choices(module, "data")) > 1:
            warn(f"{module} results on several data; the figure shows {results.choices(module, 'data')[0]!r}, "
                 "the CSV all of them")
        written.append(write_csv(rows(results), out / csv_path))
        written.append(save_figure(build(results), out / png_path, dpi=dpi))
    if results.has(ACCESS.module):
        written.append(write_csv(access_rows(results), out / ACCESS_CSV))
        written.append(save_figure(build_access_figure(results), out / ACCESS_PNG, dpi=dpi))
    if results.has(ENGINES.module):
        written.append(write_csv(comparison_rows(results), out / COMPARISON_CSV))
        written.append(save_figure(build_engine_figure(results), out / COMPARISON_PNG, dpi=dpi))
        written.append(write_csv(interop_rows(results), out / INTEROP_CSV))
        settings = settings_rows(results)
        if settings:
            written.append(write_csv(settings, out / SETTINGS_CSV))
        else:
            warn(f"no engine record next to {results.results_dir}; engines/engine_settings.csv not written")
    if results.has(PROCESS_STATE.module):
        written.append(write_csv(page_fault_rows(results), out / PAGE_FAULTS_CSV))
        written.append(save_figure(build_page_fault_figure(results), out / PAGE_FAULTS_PNG, dpi=dpi))
    counts = counts or results
    if any(INSTRUCTIONS.counts(name) for name in counts.param_names):
        written.append(write_csv(count_rows(counts, results), out / INSTRUCTIONS_CSV))
        written.append(save_figure(build_count_figure(counts), out / INSTRUCTIONS_PNG, dpi=dpi))
    if results.has(LOSSY.module):
        written.append(write_csv(lossy_rows(results), out / LOSSY_CSV))
        written.append(save_figure(build_pareto_figure(results), out / PARETO_PNG, dpi=dpi))
        data = results.choices(LOSSY.module, "data")
        loaded = load_volume(results, data[0]) if data else None
        if loaded is None:
            warn("lossy/lossy_slices.png and lossy_fsc.png not written: the data of the lossy results cannot be "
                 "loaded here (set ZARR_CRYOET_SOURCE to it)")
        else:
            for build, path in ((lambda: build_slice_figure(results, slice_codec, loaded), SLICES_PNG),
                                (lambda: build_fsc_figure(results, loaded), FSC_PNG)):
                fig = build()
                if fig is None:
                    warn(f"{path} not written: no lossy setting of this run has its fidelity figures")
                else:
                    written.append(save_figure(fig, out / path, dpi=dpi))
    if results.has(REALISTIC.module):
        written.append(write_csv(realistic_rows(results), out / REALISTIC_CSV))
    if results.has(cache_state.MODULE):
        written.append(write_csv(cache_state.table_rows(results), out / cache_state.COLD_CSV))
    if results.has(object_storage.MODULE):
        for rows, path in ((object_storage.read_rows, object_storage.READS_CSV),
                           (object_storage.sweep_rows, object_storage.SWEEP_CSV),
                           (object_storage.open_rows, object_storage.OPEN_CSV)):
            written.append(write_csv(rows(results), out / path))
        written.append(save_figure(object_storage.build_figure(results), out / object_storage.FIGURE, dpi=dpi))
    profile_path = noise.default_path(results.results_dir, results.machine, Path.cwd())
    if profile_path is not None:
        written.append(write_csv(detectable_rows(results, noise.NoiseProfile.load(profile_path)), out / DETECTABLE_CSV))
    written.append(write_csv(version_rows(results), out / VERSION_CSV))
    written.append(save_figure(build_version_figure(results), out / VERSION_PNG, dpi=dpi))
    for data in results.unrecorded():
        warn(f"no provenance recorded for data {data!r} next to {results.results_dir}; sizes are left empty "
             "— rerun the benchmarks")
    return written


def _stderr_warning(message: str) -> None:
    print(f"zarr-cryoet: warning: {message}", file=sys.stderr)

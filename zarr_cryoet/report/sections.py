"""The report's sections, in the order ``zarr-cryoet report`` writes them: each names the asv module it needs (its
absence is one warning line, :data:`zarr_cryoet.report.SKIPPED`), what is missing without it, and how it writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zarr_cryoet.asv import noise
from zarr_cryoet.asv.families import (ACCESS, CHUNKING, COLD, COMPRESSION, ENGINES, INSTRUCTIONS, LIMITS, LOSSY,
                                      OBJECT_STORAGE, PROCESS_STATE, REALISTIC)
from zarr_cryoet.asv.results import ReportResults
from zarr_cryoet.report import cache_state, conversion, object_storage, portal_size
from zarr_cryoet.report.engines import (COMPARISON_CSV, COMPARISON_PNG, INTEROP_CSV, SETTINGS_CSV, build_engine_figure,
                                        comparison_rows, interop_rows, settings_rows)
from zarr_cryoet.report.figures import (ACCESS_PNG, CHUNKING_PNG, COMPRESSION_PNG, VERSION_PNG, build_access_figure,
                                        build_chunking_figure, build_compression_figure, build_version_figure)
from zarr_cryoet.report.instructions import INSTRUCTIONS_CSV, INSTRUCTIONS_PNG, build_count_figure, count_rows
from zarr_cryoet.report.lossy import FSC_PNG, LOSSY_CSV, PARETO_PNG, SLICES_PNG, build_pareto_figure, lossy_rows
from zarr_cryoet.report.lossy_images import build_fsc_figure, build_slice_figure, load_volume
from zarr_cryoet.report.measurement import (DETECTABLE_CSV, PAGE_FAULTS_CSV, PAGE_FAULTS_PNG, REALISTIC_CSV,
                                            build_page_fault_figure, detectable_rows, page_fault_rows, realistic_rows)
from zarr_cryoet.report.style import save_figure
from zarr_cryoet.report.tables import (ACCESS_CSV, CHUNKING_CSV, COMPRESSION_CSV, access_rows, chunking_rows,
                                       compression_rows, write_csv)
from zarr_cryoet.report.versions import VERSION_CSV, version_rows


@dataclass(frozen=True)
class Context:
    """What every section writes from and to."""

    results: ReportResults
    counts: ReportResults  # the results holding the instruction counts (the same run unless --counts)
    out: Path
    dpi: float
    warn: Callable[[str], None]
    slice_codec: str | None

    def csv(self, rows: list[dict], path: Path) -> Path:
        return write_csv(rows, self.out / path)

    def png(self, figure, path: Path) -> Path:
        return save_figure(figure, self.out / path, dpi=self.dpi)


@dataclass(frozen=True)
class Section:
    """A part of the report: the asv module it needs (``None``: written whenever :attr:`needed` says so), what the
    report leaves out without that module, and the function that writes it."""

    module: str | None
    skipped: str
    write: Callable[[Context], list[Path]] = lambda context: []
    needed: Callable[[Context], bool] | None = None

    def applies(self, context: Context) -> bool:
        if self.needed is not None:
            return self.needed(context)
        return self.module is None or context.results.has(self.module)


def _table_and_figure(module: str, rows, csv_path: Path, build, png_path: Path) -> Callable[[Context], list[Path]]:
    """The gallery's codec and chunking sections: a CSV of every data, a figure of the first."""
    def write(c: Context) -> list[Path]:
        if len(c.results.choices(module, "data")) > 1:
            c.warn(f"{module} results on several data; the figure shows {c.results.choices(module, 'data')[0]!r}, "
                   "the CSV all of them")
        return [c.csv(rows(c.results), csv_path), c.png(build(c.results), png_path)]
    return write


def _engines(c: Context) -> list[Path]:
    written = [c.csv(comparison_rows(c.results), COMPARISON_CSV), c.png(build_engine_figure(c.results), COMPARISON_PNG),
               c.csv(interop_rows(c.results), INTEROP_CSV)]
    settings = settings_rows(c.results)
    if settings:
        written.append(c.csv(settings, SETTINGS_CSV))
    else:
        c.warn(f"no engine record next to {c.results.results_dir}; engines/engine_settings.csv not written")
    return written


def _lossy(c: Context) -> list[Path]:
    written = [c.csv(lossy_rows(c.results), LOSSY_CSV), c.png(build_pareto_figure(c.results), PARETO_PNG)]
    data = c.results.choices(LOSSY.module, "data")
    loaded = load_volume(c.results, data[0]) if data else None
    if loaded is None:
        c.warn("lossy/lossy_slices.png and lossy_fsc.png not written: the data of the lossy results cannot be "
               "loaded here (set ZARR_CRYOET_SOURCE to it)")
        return written
    for build, path in ((lambda: build_slice_figure(c.results, c.slice_codec, loaded), SLICES_PNG),
                        (lambda: build_fsc_figure(c.results, loaded), FSC_PNG)):
        fig = build()
        if fig is None:
            c.warn(f"{path} not written: no lossy setting of this run has its fidelity figures")
        else:
            written.append(c.png(fig, path))
    return written


def _object_storage(c: Context) -> list[Path]:
    return [*(c.csv(rows(c.results), path) for rows, path in ((object_storage.read_rows, object_storage.READS_CSV),
                                                              (object_storage.sweep_rows, object_storage.SWEEP_CSV),
                                                              (object_storage.open_rows, object_storage.OPEN_CSV))),
            c.png(object_storage.build_figure(c.results), object_storage.FIGURE)]


def _realistic(c: Context) -> list[Path]:
    """The portal-size tier: its table, and the figures the answer rests on (use cases, S3), each where its classes
    ran (a focused run on a whole volume runs the use cases only: not a problem, no warning)."""
    written = [c.csv(realistic_rows(c.results), REALISTIC_CSV)]
    for has, build, path in ((portal_size.has_use_cases, portal_size.build_use_case_figure, portal_size.USE_CASES_PNG),
                             (portal_size.has_object_storage, portal_size.build_object_storage_figure,
                              portal_size.OBJECT_STORAGE_PNG)):
        if has(c.results):
            written.append(c.png(build(c.results), path))
    return written


def _detectable(c: Context) -> list[Path]:
    profile_path = noise.default_path(c.results.results_dir, c.results.machine, Path.cwd())
    if profile_path is None:
        return []
    return [c.csv(detectable_rows(c.results, noise.NoiseProfile.load(profile_path)), DETECTABLE_CSV)]


def _versions(c: Context) -> list[Path]:
    """The release comparison: its CSV always, its figure where there is a release to compare (not a problem where
    there is none, as in a focused run: no warning)."""
    written = [c.csv(version_rows(c.results), VERSION_CSV)]
    if len(c.results.envs) < 2:
        return written
    return [*written, c.png(build_version_figure(c.results), VERSION_PNG)]


SECTIONS = (
    Section(COMPRESSION.module, f"{COMPRESSION_CSV.parent}/",
            _table_and_figure(COMPRESSION.module, compression_rows, COMPRESSION_CSV, build_compression_figure,
                              COMPRESSION_PNG)),
    Section(CHUNKING.module, f"{CHUNKING_CSV.parent}/",
            _table_and_figure(CHUNKING.module, chunking_rows, CHUNKING_CSV, build_chunking_figure, CHUNKING_PNG)),
    Section(ACCESS.module, f"{ACCESS_CSV.parent}/",
            lambda c: [c.csv(access_rows(c.results), ACCESS_CSV), c.png(build_access_figure(c.results), ACCESS_PNG)]),
    Section(ENGINES.module, f"{COMPARISON_CSV.parent}/", _engines),
    Section(PROCESS_STATE.module, f"{PAGE_FAULTS_CSV} and .png",
            lambda c: [c.csv(page_fault_rows(c.results), PAGE_FAULTS_CSV),
                       c.png(build_page_fault_figure(c.results), PAGE_FAULTS_PNG)]),
    Section(None, "", lambda c: [c.csv(count_rows(c.counts, c.results), INSTRUCTIONS_CSV),
                                 c.png(build_count_figure(c.counts), INSTRUCTIONS_PNG)],
            needed=lambda c: any(INSTRUCTIONS.counts(name) for name in c.counts.param_names)),
    Section(LOSSY.module, f"{LOSSY_CSV.parent}/", _lossy),
    Section(REALISTIC.module, f"{REALISTIC_CSV} and {portal_size.USE_CASES_PNG.parent}/", _realistic),
    Section(COLD.module, str(cache_state.COLD_CSV), lambda c: [c.csv(cache_state.table_rows(c.results),
                                                                     cache_state.COLD_CSV)]),
    Section(OBJECT_STORAGE.module, f"{object_storage.READS_CSV.parent}/object_storage*", _object_storage),
    # the conversion tier and the multiscale viewer (its first views are the figure's third panel)
    Section(conversion.MODULE, f"{conversion.CSV.parent}/", lambda c: [
        c.csv(conversion.rows(c.results), conversion.CSV), c.csv(conversion.read_rows(c.results), conversion.READS_CSV),
        c.png(conversion.build_figure(c.results), conversion.FIGURE)]),
    Section(conversion.FIRST_VIEW.partition(".")[0], f"the first views in {conversion.CSV}"),  # no output of its own
    Section(LIMITS.module, "the raw-file limit in the figures and CSVs"),  # no output of its own
    Section(None, "", _detectable),
    Section(None, "", _versions),
)

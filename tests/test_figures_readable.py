"""Every benchmark figure of the report reads at a glance: no label on another, no legend over data, every
figure names its run (data, size, cores, zarr release) and every compression-ratio axis starts at 1 or 0.

The figures are built from each recorded asv run the other report tests use (tests/data/asv-results*) and
from the run shipped with the repository (recorded/results), which has every tier.
"""

from pathlib import Path

import numpy as np
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.patches import Rectangle

from tests.figure_checks import (assert_readable, covered_data, empty_panels, errorbars, few_log_labels,
                                 focused_results, footer_overlaps, run_label, unkept_promises)
from zarr_cryoet.report import engines, figures, measurement, object_storage, portal_size, viz
from zarr_cryoet.asv.results import ReportResults
from zarr_cryoet.report.style import add_run_label, new_figure

# the report on recorded asv results: the same under every zarr, so CI runs it under the newest only
pytestmark = pytest.mark.once

ROOT = Path(__file__).parent.parent
RUNS = {"quick": (ROOT / "tests" / "data" / "asv-results", "vm"),
        "limits": (ROOT / "tests" / "data" / "asv-results-limits", "vm"),
        "access": (ROOT / "tests" / "data" / "asv-results-access", "scale"),
        "engines": (ROOT / "tests" / "data" / "asv-results-engines", "vm"),
        "recorded": (ROOT / "recorded" / "results", "vm")}
#: figure -> (builder, whether it shows every release in the results (else the newest), the runs to build it from)
FIGURES = {
    "compression": (figures.build_compression_figure, False, ("quick", "limits", "access", "recorded")),
    "chunking": (figures.build_chunking_figure, False, ("quick", "limits", "access", "recorded")),
    "access": (figures.build_access_figure, False, ("access", "recorded")),
    "version": (figures.build_version_figure, True, ("quick", "limits", "recorded")),
    "engines": (engines.build_engine_figure, False, ("engines", "recorded")),
    "page_faults": (measurement.build_page_fault_figure, True, ("recorded",)),
    "object_storage": (object_storage.build_figure, False, ("recorded",)),
    "realistic_use_cases": (portal_size.build_use_case_figure, False, ("recorded",)),
    "realistic_object_storage": (portal_size.build_object_storage_figure, False, ("recorded",)),
}
#: the figures of the portal-size tier: its data, on every core of the machine
PORTAL = {"realistic_use_cases", "realistic_object_storage"}
CASES = [(figure, run) for figure, (_, _, runs) in FIGURES.items() for run in runs]
RATIO_LABEL = "Ratio (uncompressed / stored)"


@pytest.fixture(scope="module")
def loaded():
    cache = {}

    def load(run):
        if run not in cache:
            cache[run] = ReportResults.load(RUNS[run][0], machine=RUNS[run][1])
        return cache[run]
    return load


@pytest.mark.parametrize("figure, run", CASES)
def test_every_figure_is_readable_and_names_its_run(figure, run, loaded):
    results = loaded(run)
    build, every_release, _ = FIGURES[figure]
    fig = build(results)
    assert_readable(fig)
    footer = run_label(fig)
    assert footer is not None, "no run label"
    text = footer.get_text()
    assert ("every core (2)" if figure in PORTAL else "one core") in text and f"commit {results.short_commit}" in text
    releases = [e.zarr_version for e in results.envs] if every_release else [results.newest.zarr_version]
    assert "zarr " + ", ".join(releases) in text
    if run == "recorded":  # its provenance is recorded: the data's shape and size
        assert ("phantom 184x630x630 float32 (184×630×630, 292.1 MB)" if figure in PORTAL
                else "phantom 128³ float32 (128×128×128, 8.4 MB)") in text
    title = fig.get_suptitle()  # the run is said once, in the footer
    assert "commit" not in title and "machine" not in title and "phantom" not in title


@pytest.mark.parametrize("figure, run", CASES)
def test_every_log_axis_reads_and_every_promised_whisker_is_drawn(figure, run, loaded):
    """A log axis shows at least three labelled ticks (one spanning less than a decade too), and a figure whose
    title (or a panel's) says "whiskers" draws them."""
    fig = FIGURES[figure][0](loaded(run))
    assert few_log_labels(fig) == []
    assert unkept_promises(fig) == []


@pytest.mark.parametrize("figure", sorted(PORTAL | {"object_storage", "engines", "access", "compression"}))
def test_the_time_figures_draw_each_times_interval(figure, loaded):
    """The recorded run has two processes or more per timing: every figure of times draws whiskers, and says so."""
    fig = FIGURES[figure][0](loaded("recorded"))
    assert "whiskers: range of" in fig.get_suptitle()
    assert sum(errorbars(ax) for ax in fig.axes) > 0


def test_the_use_case_figure_has_every_use_case_and_layout_with_the_answers_interval(loaded):
    results = loaded("recorded")
    fig = portal_size.build_use_case_figure(results)
    assert [ax.get_title().removesuffix(" (log scale)") for ax in fig.axes if ax.axison] == [
        "XY plane (the viewer)", "three orthogonal planes", "16 particle boxes of 32³", "16 particle boxes of 64³",
        "whole volume"]
    env, data = results.newest, results.choices("realistic", "data")[0]
    for ax, method in zip(fig.axes, ("slice_xy", "orthogonal", "particle_boxes", "particle_boxes_64", "full")):
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        # every layout of UseCases (format follows the chunks) and of UseCasesV3 (plain chunks on format 3)
        layouts = sum(len({combo for (e, b, combo), v in results.values.items() if e == env.name and b == name
                               and v == v}) for name in ("realistic.UseCases.time_read_full",
                                                         "realistic.UseCasesV3.time_read_full"))
        assert len(ticks) == layouts and "16×128×128 v2" in ticks and "16×128×128 v3" in ticks
        assert errorbars(ax) == layouts
        found = results.estimate(env, f"realistic.UseCases.time_read_{method}", data=data, chunks="16x128x128")
        bars = {t: p for t, p in zip(ticks, (p for p in ax.patches if isinstance(p, Rectangle)))}
        assert bars["16×128×128 v2"].get_height() == pytest.approx(found.value * 1e3)
        whisker = next(seg for c in ax.containers if isinstance(c, ErrorbarContainer)
                       for seg in c.lines[2][0].get_segments() if seg[0][0] == pytest.approx(bars["16×128×128 v2"]
                                                                                             .get_center()[0]))
        assert (whisker[0][1], whisker[1][1]) == pytest.approx((found.low * 1e3, found.high * 1e3))


def test_the_portal_figures_take_a_class_and_layouts_added_to_the_tier(loaded):
    """A class beside UseCases (UseCasesV3: the plain chunks on format 3, its name says so), one with a zarr_format
    parameter, and a layout added to the S3 class are drawn without naming them anywhere."""
    from dataclasses import replace

    from zarr_cryoet.stats.estimate import Estimate

    results = loaded("recorded")
    env, data = results.newest, results.choices("realistic", "data")[0]
    values, estimates, names = dict(results.values), dict(results.estimates), dict(results.param_names)
    names["realistic.UseCasesV3.time_read_slice_xy"] = ["data", "chunks"]
    names["realistic.UseCasesMore.time_read_slice_xy"] = ["data", "chunks", "zarr_format"]
    for key, seconds in (((env.name, "realistic.UseCasesV3.time_read_slice_xy", (data, "64x64x64")), 0.05),
                         ((env.name, "realistic.UseCasesMore.time_read_slice_xy", (data, "256x256x256", 3)), 0.5),
                         ((env.name, "realistic.ObjectStorage.time_read_xy", (data, "256x256x256", "tensorstore")),
                          1.5)):
        values[key] = seconds
        estimates[key] = Estimate(seconds, (seconds, seconds * 1.1), 2)
    grown = replace(results, values=values, estimates=estimates, param_names=names)
    xy = portal_size.build_use_case_figure(grown).axes[0]
    ticks = [t.get_text() for t in xy.get_xticklabels()]
    assert "64³ v2" in ticks and "64³ v3" in ticks and "256³ v3" in ticks and errorbars(xy) == len(ticks) >= 9
    s3 = portal_size.build_object_storage_figure(grown).axes[0]
    assert "256³\nv2" in [t.get_text() for t in s3.get_xticklabels()]  # plain chunks: format 2, as the tier


def test_a_focused_runs_figures_have_no_empty_panel_and_no_missing_format(tmp_path):
    """``recommend --source`` leaves the chunking reads, the HTTP reads and the codec ratios of one release: each
    figure shows only its panels with data, no "zarr format none", and the release comparison is not drawn."""
    from zarr_cryoet.report import report

    focused = ReportResults.load(focused_results(RUNS["recorded"][0], tmp_path), machine="vm")
    assert [e.zarr_version for e in focused.envs] == ["3.4.2"]
    for build in (figures.build_compression_figure, figures.build_chunking_figure, figures.build_access_figure):
        fig = build(focused)
        assert empty_panels(fig) == []
        assert_readable(fig)
        assert few_log_labels(fig) == [] and unkept_promises(fig) == []
    assert [ax.get_title() for ax in figures.build_access_figure(focused).axes] == [
        "Read time over HTTP, +20 ms per request (log scale)"]
    warnings = []
    written = report(results=focused, out=tmp_path / "out", warn=warnings.append)
    assert not any(p.name == "version_comparison.png" for p in written)  # one release: nothing to compare
    assert any(p.name == "version_comparison.csv" for p in written)


def test_a_focused_run_on_a_whole_volume_draws_its_use_cases_only(tmp_path):
    """On a whole volume a focused run measures the use cases on every core and nothing else: the use-case figure,
    with every panel drawn, and no S3 figure (nothing to draw: not a warning)."""
    from zarr_cryoet.asv import config
    from zarr_cryoet.report import report

    bench = getattr(config, "FOCUSED_WHOLE_BENCH", [r"^realistic\.(UseCases|UseCasesV3|InPlace)\."])
    focused = ReportResults.load(focused_results(RUNS["recorded"][0], tmp_path, bench=bench), machine="vm")
    fig = portal_size.build_use_case_figure(focused)
    assert empty_panels(fig) == [] and few_log_labels(fig) == [] and unkept_promises(fig) == []
    assert_readable(fig)
    warnings = []
    written = [p.relative_to(tmp_path / "out") for p in report(results=focused, out=tmp_path / "out",
                                                               warn=warnings.append)]
    assert portal_size.USE_CASES_PNG in written and portal_size.OBJECT_STORAGE_PNG not in written
    assert not any("realistic_" in w for w in warnings)


def test_a_log_axis_less_than_a_decade_wide_labels_three_ticks():
    from zarr_cryoet.report.log_axes import labelled_ticks, log_axis

    for low, high in ((90, 190), (100, 130), (0.5, 3), (1, 1e5), (2040, 2350), (1e-3, 1e9)):
        fig, ax = new_figure(figsize=(4, 3))
        ax.bar([0, 1], [low, high])
        log_axis(ax)
        ax.set_ylim(low, high)
        fig.canvas.draw()
        labels = labelled_ticks(ax)
        assert 3 <= len(labels) <= 12, (low, high, labels)
        assert all("^" not in t and "$" not in t for t in labels)  # plain numbers, not powers of ten


@pytest.mark.parametrize("build", [viz.build_quick_viz, viz.build_slices_viz, viz.build_distribution_viz])
def test_the_data_views_are_readable(build, small_volume):
    assert_readable(build(small_volume, provenance={"identity": "phantom", "voxel_size": 10.0}))


@pytest.mark.parametrize("run", ["quick", "limits", "recorded"])
def test_ratio_axes_start_at_1_or_0_and_say_so(run, loaded):
    results = loaded(run)
    for fig in (figures.build_compression_figure(results), figures.build_chunking_figure(results)):
        ratio_axes = [ax for ax in fig.axes if ax.get_ylabel() == RATIO_LABEL]
        assert len(ratio_axes) == 1
        ax = ratio_axes[0]
        assert ax.get_ylim()[0] in (0, 1)
        assert ("axis from 1×" in ax.get_title()) == (ax.get_ylim()[0] == 1)
    for ax in figures.build_version_figure(results).axes:  # ratios of times: bars from 1 on a log axis
        bars = [p for c in ax.containers if isinstance(c, BarContainer) for p in c]
        assert all(p.get_y() == 1 for p in bars)


def test_the_access_figure_says_what_each_pattern_reads_and_why_http_has_fewer_layouts(loaded):
    fig = figures.build_access_figure(loaded("recorded"))
    local, _, remote = fig.axes
    assert [t.get_text() for t in local.get_xticklabels()] == [
        "4 random XY planes\n(xy)", "16 boxes of 32³\n(box32)", "whole volume, 16-plane z-slabs\n(zslabs)"]
    assert remote.get_yscale() == "log" and "only the 3 of 8 layouts timed over HTTP" in remote.get_title()


def test_the_version_legend_states_one_rule_both_ways(loaded):
    from zarr_cryoet.report.versions import RULE, change_labels
    from zarr_cryoet.stats.compare import Comparison

    slower, faster, same = change_labels([Comparison(1.2, 0.008, (5, 5)), Comparison(1.1, 0.5, (3, 3))])
    assert slower.removeprefix("slower") == faster.removeprefix("faster") == f": {RULE}"
    assert RULE == "Mann–Whitney, Benjamini–Hochberg q < 0.05"
    assert same == "~: not told apart\n(1 of 2: too few processes ever to tell)"
    for run, never in (("quick", "(all of"), ("recorded", "of ")):  # --quick: one process a time
        legend = next(ax.get_legend() for ax in figures.build_version_figure(loaded(run)).axes if ax.get_legend())
        texts = [t.get_text() for t in legend.get_texts()]
        assert f"slower: {RULE}" in texts and f"faster: {RULE}" in texts
        assert any(t.startswith("~: not told apart") and never in t for t in texts)
        assert not any("±" in t for t in texts)


@pytest.mark.parametrize("run", ["quick", "recorded"])
def test_time_whiskers_are_asymmetric_and_say_what_they_are(run, loaded):
    """The compression figure's time bars carry each time's interval, low to high (the fastest process is the
    value: nothing below it unless the machine's band says so), and the title names the interval."""
    results = loaded(run)
    fig = figures.build_compression_figure(results)
    title = fig.get_suptitle()
    assert "±" not in title
    whiskers = [c for ax in fig.axes[:2] for c in ax.containers if not isinstance(c, BarContainer)]
    if run == "quick":  # one process a time: no interval to draw
        assert not whiskers and "whiskers" not in title
        return
    assert whiskers and "whiskers: range of 3 or 5 processes" in title
    env = results.newest
    for ax, bench in zip(fig.axes[:2], ("compression.Write.time_write", "compression.Read.time_read")):
        for container in (c for c in ax.containers if not isinstance(c, BarContainer)):
            (x, y), = container.lines[2][0].get_segments()[0][:1]  # the whisker's lower end
            top = container.lines[2][0].get_segments()[0][1][1]
            codec = results.choices("compression", "codec")[round(x)]
            found = results.estimate(env, bench, data=results.choices("compression", "data")[0], codec=codec,
                                     zarr_format=2)
            assert (y, top) == pytest.approx((found.low * 1e3, found.high * 1e3))
            assert found.low == found.value < found.high  # asymmetric: the range of the processes is above


def test_the_engine_figure_says_one_core(loaded):
    fig = engines.build_engine_figure(loaded("engines"))
    assert "one core" in fig.get_suptitle()
    assert engines.cores(loaded("engines"), "3.4.2") == "one core"


# --- the checks themselves --------------------------------------------------------------


def _bars_with_legend(loc, heights):
    fig, ax = new_figure(figsize=(5, 4))
    ax.bar(np.arange(len(heights)), heights, label="bars")
    ax.set_ylim(0, 10)
    ax.legend(loc=loc)
    return fig


def test_a_legend_over_bars_is_found_and_one_above_them_is_not():
    assert covered_data(_bars_with_legend("upper right", (1, 5, 10)))  # over the tallest bar
    assert covered_data(_bars_with_legend("upper right", (1, 1, 1))) == []


def test_a_legend_over_points_is_found_but_a_reference_line_may_pass_under_it():
    fig, ax = new_figure(figsize=(5, 4))
    ax.scatter([0.1, 0.9], [0.9, 0.1], label="points")
    ax.axhline(0.95, label="reference")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left")
    assert any("points" in problem for problem in covered_data(fig))
    ax.get_legend().remove()
    ax.legend(loc="center")
    assert covered_data(fig) == []
    fig, ax = new_figure(figsize=(5, 4))
    ax.plot([0.05, 0.5], [0.95, 0.5], marker="o", label="line")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left")
    assert any("line" in problem for problem in covered_data(fig))


def test_the_run_label_stays_clear_of_the_axes_and_of_legends_below_them():
    fig, axes = new_figure(1, 2, figsize=(9, 3))
    for ax in axes:
        ax.bar([0, 1], [1, 2], label="bars")
        ax.set_xlabel("Layout (name)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center")
    add_run_label(fig, "phantom (8.4 MB) · one core · zarr 3.4.2 · commit 0123abcd on vm — a label long enough")
    assert_readable(fig)
    fig, ax = new_figure(figsize=(5, 3), layout=None, gridspec_kw={"bottom": 0.02})  # no room left for it
    ax.set_xlabel("Layout (name)")
    add_run_label(fig, "phantom · one core · zarr 3.4.2")
    assert footer_overlaps(fig)

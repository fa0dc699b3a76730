"""Every benchmark figure of the report reads at a glance: no label on another, no legend over data, every
figure names its run (data, size, cores, zarr release) and every compression-ratio axis starts at 1 or 0.

The figures are built from each recorded asv run the other report tests use (tests/data/asv-results*) and
from the run shipped with the repository (recorded/results), which has every tier.
"""

from pathlib import Path

import numpy as np
import pytest
from matplotlib.container import BarContainer

from tests.figure_checks import assert_readable, covered_data, footer_overlaps, run_label
from zarr_cryoet.report import engines, figures, measurement, object_storage, viz
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
}
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
    assert "one core" in text and f"commit {results.short_commit}" in text
    releases = [e.zarr_version for e in results.envs] if every_release else [results.newest.zarr_version]
    assert "zarr " + ", ".join(releases) in text
    if run == "recorded":  # its provenance is recorded: the data's shape and size
        assert "phantom 128³ float32 (128×128×128, 8.4 MB)" in text
    title = fig.get_suptitle()  # the run is said once, in the footer
    assert "commit" not in title and "machine" not in title and "phantom" not in title


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

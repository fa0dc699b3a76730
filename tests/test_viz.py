"""The data figures (zarr_cryoet.report.viz) and the project's plot style (zarr_cryoet.report.style)."""

import re

import matplotlib
import numpy as np
import pytest
from matplotlib.image import AxesImage, imread
from matplotlib.patches import PathPatch, StepPatch

from zarr_cryoet.report import style

from zarr_cryoet.report import viz
from zarr_cryoet.util.errors import InvalidVolumeError
from zarr_cryoet.data.phantom import phantom_volume

PROVENANCE = {"source": "phantom:48", "identity": "phantom 48³ float32", "voxel_size": 10.012}
UNITS = re.compile(r"\S.*\(\s*\S[^()]*\)\s*$")  # "Quantity (unit)"


@pytest.fixture(scope="module")
def vol48():
    vol = phantom_volume(48)
    vol.setflags(write=False)  # any in-place change would raise
    return vol


@pytest.fixture(scope="module")
def figures(vol48):
    return {
        "quick": viz.build_quick_viz(vol48, provenance=PROVENANCE),
        "slices": viz.build_slices_viz(vol48, title="Slices of the phantom"),
        "distribution": viz.build_distribution_viz(vol48),
    }


def images(fig):
    return [ax for ax in fig.axes if any(isinstance(a, AxesImage) for a in ax.get_children())]


def histograms(fig):
    return [ax for ax in fig.axes if any(isinstance(p, StepPatch) for p in ax.patches)]


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.axison and ax.get_visible()]


# --- files --------------------------------------------------------------------------


@pytest.mark.parametrize("dpi", [style.DPI_WEB, style.DPI_PRINT])
def test_write_all_pixel_size_is_figsize_times_dpi(vol48, tmp_path, dpi):
    before = vol48.copy()
    paths = viz.write_all(vol48, tmp_path / "figs", dpi=dpi, provenance=PROVENANCE)
    assert [p.name for p in paths] == list(viz.FILENAMES)
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == sorted(viz.FILENAMES)
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width = imread(path).shape[:2]
        w_in, h_in = viz.FIGSIZES[path.name]
        assert (width, height) == (round(w_in * dpi), round(h_in * dpi)), path.name
    np.testing.assert_array_equal(vol48, before)


def test_single_figure_to_file_or_directory(vol48, tmp_path):
    file = viz.distribution_viz(vol48, tmp_path / "sub" / "dist.png", dpi=50)
    assert file == tmp_path / "sub" / "dist.png" and file.is_file()
    into_dir = viz.distribution_viz(vol48, tmp_path, dpi=50)
    assert into_dir == tmp_path / viz.DISTRIBUTION_FILE and into_dir.is_file()


@pytest.mark.parametrize("bad", [np.zeros((16, 16), np.float32), np.zeros((2, 3, 4, 5), np.float32),
                                 [[[1.0]]], np.zeros((0, 4, 4), np.float32)])
def test_bad_input_raises_one_line_error_and_writes_nothing(tmp_path, bad):
    out = tmp_path / "out"
    for call in (lambda: viz.write_all(bad, out), lambda: viz.quick_viz(bad, out / "q.png"),
                 lambda: viz.slices_viz(bad, out / "s.png"), lambda: viz.distribution_viz(bad, out / "d.png")):
        with pytest.raises(InvalidVolumeError) as info:
            call()
        assert "\n" not in str(info.value)
    assert not out.exists()


def test_2d_message_names_the_problem(tmp_path):
    with pytest.raises(ValueError, match=r"3-D \(z, y, x\).*\(16, 16\)"):
        viz.write_all(np.zeros((16, 16), np.float32), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_bad_dpi_writes_nothing(vol48, tmp_path):
    with pytest.raises(ValueError, match="dpi"):
        viz.write_all(vol48, tmp_path / "out", dpi=0)
    assert not (tmp_path / "out").exists()


# --- figure content -----------------------------------------------------------------


def test_quick_viz_panels(figures, vol48):
    fig = figures["quick"]
    imgs = images(fig)
    assert [ax.get_title() for ax in imgs] == ["XY plane, z = 24", "XZ plane, y = 24", "YZ plane, x = 24"]
    assert len(histograms(fig)) == 1
    text_panels = [ax for ax in fig.axes if not ax.axison and ax.texts]
    assert len(text_panels) == 1
    stats = text_panels[0].texts[0].get_text()
    for word in ("shape", "48 × 48 × 48", "min", "max", "mean", "std", "phantom 48³", "10.012 Å"):
        assert word in stats
    assert f"{float(vol48.min()):.4g}" in stats and f"{float(vol48.max()):.4g}" in stats
    assert fig.get_suptitle() == "Tomogram overview: phantom 48³ float32"


def test_slices_viz_panels(figures, vol48):
    fig = figures["slices"]
    imgs = images(fig)
    assert len(imgs) == 9
    assert [ax.get_title() for ax in imgs] == [
        "XY plane, z = 12", "XY plane, z = 24", "XY plane, z = 36",
        "XZ plane, y = 12", "XZ plane, y = 24", "XZ plane, y = 36",
        "YZ plane, x = 12", "YZ plane, x = 24", "YZ plane, x = 36",
    ]
    np.testing.assert_array_equal(imgs[4].images[0].get_array(), vol48[:, 24, :])
    np.testing.assert_array_equal(imgs[8].images[0].get_array(), vol48[:, :, 36])
    # One shared grayscale window (1st–99th percentile) for every panel.
    windows = {im.get_clim() for ax in imgs for im in ax.images}
    assert windows == {viz.display_range(vol48)}
    lo, hi = viz.display_range(vol48)
    assert lo == pytest.approx(np.percentile(vol48, 1)) and hi == pytest.approx(np.percentile(vol48, 99))
    assert fig.get_suptitle() == "Slices of the phantom"


def test_distribution_viz_panels(figures, vol48):
    fig = figures["distribution"]
    (hist,) = histograms(fig)
    counts = hist.patches[0].get_data().values
    assert counts.sum() == vol48.size
    (box_ax,) = [ax for ax in fig.axes if ax not in histograms(fig) and ax.patches]
    boxes = [p for p in box_ax.patches if isinstance(p, PathPatch) and not isinstance(p, StepPatch)]
    assert len(boxes) == 3
    assert [p.get_facecolor()[:3] for p in boxes] == [matplotlib.colors.to_rgb(style.series_colour(i))
                                                      for i in range(3)]
    assert [t.get_text() for t in box_ax.get_xticklabels()] == ["z = 12", "z = 24", "z = 36"]
    assert fig.get_suptitle().startswith("Intensity distribution")


@pytest.mark.parametrize("name", ["quick", "slices", "distribution"])
def test_every_axis_labelled_with_units_and_titled(figures, name):
    fig = figures[name]
    assert style.unlabelled_axes(fig) == []
    for ax in visible_axes(fig):
        if getattr(ax, "_colorbar", None) is not None:
            assert UNITS.match(ax.get_ylabel())
            continue
        assert UNITS.match(ax.get_xlabel()), (name, ax.get_title(), ax.get_xlabel())
        assert UNITS.match(ax.get_ylabel()), (name, ax.get_title(), ax.get_ylabel())
        assert ax.get_title()
    for ax in images(fig):
        assert ax.get_xlabel().endswith("(voxels)") and ax.get_ylabel().endswith("(voxels)")
        assert ax.get_aspect() == 1.0
    assert fig.get_suptitle()


@pytest.mark.parametrize("name", ["quick", "slices", "distribution"])
def test_figures_follow_the_style(figures, name):
    fig = figures[name]
    assert fig._suptitle.get_fontsize() == 14
    for ax in fig.axes:
        if ax.get_title():
            assert ax.title.get_fontsize() == 14
        if ax.axison and getattr(ax, "_colorbar", None) is None:
            assert ax.xaxis.label.get_fontsize() == 12
            assert ax.xaxis.label.get_fontfamily() == ["sans-serif"]
    for ax in fig.axes:
        if ax in images(fig) or not ax.axison or getattr(ax, "_colorbar", None) is not None:
            continue
        grid = ax.yaxis.get_gridlines()[0]
        assert grid.get_visible() and grid.get_alpha() == 0.3
        assert matplotlib.colors.same_color(grid.get_color(), style.GRID_COLOUR)
    assert matplotlib.colors.same_color(fig.get_facecolor(), "white")


# --- style --------------------------------------------------------------------------


def test_codec_colours():
    assert style.CODEC_COLOURS == {"blosc-zstd": "#45B7D1", "blosc-lz4": "#4ECDC4", "zstd": "#95E1D3",
                                   "none": "#F38181"}
    for name, colour in style.CODEC_COLOURS.items():
        assert style.codec_colour(name) == colour
        assert style.codec_colour(name.upper()) == colour
    fixed = {c.lower() for c in style.CODEC_COLOURS.values()}
    others = ["gzip", "zstd-1", "zstd-3", "zstd-9", "blosc-zstd-bitshuffle", "lz4", "zlib"]
    for name in others:
        colour = style.codec_colour(name)
        assert colour.lower() not in fixed
        assert colour == style.codec_colour(name)  # deterministic
        assert colour in style.PALETTE
    mapping = style.codec_colours(["none", *others, "blosc-zstd"])
    assert list(mapping) == ["none", *others, "blosc-zstd"]
    assert mapping["none"] == "#F38181" and mapping["blosc-zstd"] == "#45B7D1"
    assert mapping["gzip"] == style.codec_colour("gzip")
    assert len({c.lower() for c in mapping.values()}) == len(mapping)  # all distinct
    assert style.codec_colours(["zstd-3", "gzip"]) == style.codec_colours(["zstd-3", "gzip"])


def test_series_colour_is_tab10():
    tab10 = [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab10"].colors]
    assert [style.series_colour(i) for i in range(12)] == tab10 + tab10[:2]


def test_style_rc_and_no_global_leak():
    before = dict(matplotlib.rcParams)
    with style.figure_style():
        rc = matplotlib.rcParams
        assert rc["font.family"] == ["sans-serif"] and rc["font.size"] == 12
        assert rc["axes.titlesize"] == 14 and rc["figure.titlesize"] == 14
        assert rc["axes.grid"] is True and rc["grid.alpha"] == 0.3
        assert matplotlib.colors.same_color(rc["grid.color"], "lightgray")
        assert matplotlib.colors.same_color(rc["figure.facecolor"], "white")
    fig, _ = style.new_figure(1, 2, title="t")
    assert dict(matplotlib.rcParams) == before
    assert (style.DPI_WEB, style.DPI_PRINT) == (150, 300)


def test_new_figure_and_save_figure(tmp_path):
    fig, axes = style.new_figure(1, 2, figsize=(5, 3), title="A title", squeeze=False)
    assert axes.shape == (1, 2) and fig.get_suptitle() == "A title"
    fig1, ax1 = style.new_figure(1, 1)
    assert not hasattr(ax1, "shape")
    assert tuple(fig1.get_size_inches()) == (4.0, 3.5)
    style.label_axis(axes[0, 0], x="Time (ms)", y="Size (MB)")
    assert (axes[0, 0].get_xlabel(), axes[0, 0].get_ylabel()) == ("Time (ms)", "Size (MB)")
    with pytest.raises(ValueError, match="unit"):
        style.label_axis(axes[0, 1], x="Time")
    path = style.save_figure(fig, tmp_path / "a" / "b" / "fig.png", dpi=100)
    assert path.is_file() and imread(path).shape[:2] == (300, 500)
    assert style.has_units("Intensity (a.u.)") and not style.has_units("Codec") and not style.has_units("")

"""The published dashboard in a real browser: served on 127.0.0.1, rendered by headless Chromium.

Everything is read from the rendered page (the benchmark grid's links and the
series of the live plot), not from the JSON files asv writes. Needs Debian's
``chromium`` and ``chromium-driver`` (.ci/run installs them); without them
these tests skip, unless ZARR_CRYOET_REQUIRE_BROWSER=1 (set by .ci/run) makes
that a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.asv_helpers import expected_envs
from zarr_cryoet.tracking import dashboard
from zarr_cryoet.tracking.dashboard_assets import make_self_contained

pytestmark = pytest.mark.asv


@pytest.fixture(scope="module")
def html(asv_run):
    try:
        dashboard.find_chromium()
    except dashboard.DashboardError as err:
        if os.environ.get("ZARR_CRYOET_REQUIRE_BROWSER") == "1":
            pytest.fail(str(err))
        pytest.skip(str(err))
    _, tmp, out = asv_run
    assert out["publish"].returncode == 0, out["publish"].stderr
    for line in make_self_contained(tmp / "html"):  # the page's libraries, without internet
        print(line)
    return tmp / "html"


def test_the_benchmark_grid_lists_every_benchmark(html):
    with dashboard.serve(html) as url, dashboard.open_browser() as driver:
        names = dashboard.benchmark_names(driver, url)
    print("benchmark grid:", names)
    assert {"compression.Read.time_read", "compression.Write.time_write", "chunking.Read.time_read_slice_xy",
            "chunking.Storage.track_file_count", "compression.Storage.track_compression_ratio"} <= set(names)


@pytest.mark.parametrize("benchmark", ["compression.Read.time_read", "chunking.Read.time_read_slice_xy"])
def test_a_graph_has_points_for_every_zarr_version(html, benchmark):
    def every_version_plotted(series):
        return all(any(f"zarr-{v};" in s.label + ";" and s.points > 0 for s in series) for v in expected_envs())

    with dashboard.serve(html) as url, dashboard.open_browser() as driver:
        try:  # the page adds each environment's series as its data arrives
            series = dashboard.graph_series(driver, url, benchmark, until=every_version_plotted)
        except dashboard.DashboardError:
            series = dashboard.graph_series(driver, url, benchmark)  # what it shows, for the message below
    for s in series:
        print(f"{benchmark}: {s.label}: {s.points} point(s)")
    for version in expected_envs():
        plotted = [s for s in series if f"zarr-{version};" in s.label + ";" and s.points > 0]
        assert plotted, f"no points for zarr {version} on {benchmark}: {series}"


def test_screenshot_command_writes_a_png(html, tmp_path):
    out = tmp_path / "dashboard.png"
    proc = subprocess.run([sys.executable, "-m", "zarr_cryoet.cli", "screenshot", "--html", str(html),
                           "--benchmark", "compression.Read.time_read", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    assert not list(tmp_path.glob("*.partial*"))

"""The published asv dashboard, as a browser sees it: served on 127.0.0.1, driven in headless Chromium.

asv's dashboard loads its JSON with XHR, so it needs an HTTP server, not
``file://``. :func:`serve` serves ``html/`` on a free loopback port;
:func:`open_browser` starts Debian's ``chromium`` through its matching
``chromedriver`` (packages ``chromium`` and ``chromium-driver``) with
Selenium. The page is then read the way a person reads it: the benchmark grid
(:func:`benchmark_names`) and the plotted series of one benchmark's graph,
taken from the live flot plot on the page (:func:`graph_series`).
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.store.loopback import RecordingHTTPServer

CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-extensions", "--disable-sync",
                  "--no-first-run", "--mute-audio", "--hide-scrollbars")
INSTALL_HINT = "install them with: apt-get install -y chromium chromium-driver"


class DashboardError(ZarrCryoetError):
    """The dashboard could not be served, opened or read."""


@contextmanager
def serve(html_dir: Path):
    """Serve ``html_dir`` on http://127.0.0.1:PORT/ (a free port) for the duration of the block."""
    html_dir = Path(html_dir)
    if not (html_dir / "index.html").is_file():
        raise DashboardError(f"no dashboard in {html_dir} (index.html missing); run asv publish first "
                             "(python3 tasks.py benchmark does)")
    with RecordingHTTPServer(html_dir) as server:
        yield server.url + "/"


def find_chromium() -> tuple[str, str]:
    """Paths of the Chromium binary and of its chromedriver."""
    binary = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        missing = " and ".join(n for n, p in (("chromium", binary), ("chromedriver", driver)) if p is None)
        raise DashboardError(f"{missing} not found; {INSTALL_HINT}")
    return binary, driver


@contextmanager
def open_browser(size: tuple[int, int] = (1400, 900)):
    """A headless Chromium WebDriver; quits when the block ends."""
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise DashboardError("selenium is not installed; pip install selenium (it is in the test and dev "
                             "extras)") from None
    binary, driver_path = find_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--window-size={size[0]},{size[1]}"):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    except WebDriverException as err:
        raise DashboardError(f"Chromium did not start: {err.msg}; {INSTALL_HINT}") from None
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver, condition, what: str, timeout: float):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
    except TimeoutException:
        error = driver.execute_script("var e = document.getElementById('error-message');"
                                      "return e ? e.textContent : '';") or ""
        raise DashboardError(f"the dashboard did not show {what} within {timeout:.0f} s"
                             + (f" (it says: {error.strip()})" if error.strip() else "")) from None


def benchmark_names(driver, url: str, timeout: float = 30) -> list[str]:
    """The benchmarks listed in the dashboard's benchmark grid, as rendered."""
    from selenium.webdriver.common.by import By

    driver.get(url + "#/")

    def links(d):
        found = [e.get_attribute("href").partition("#")[2]
                 for e in d.find_elements(By.CSS_SELECTOR, "#summarygrid-display a.benchmark-container")]
        return found or False

    return _wait(driver, links, "the benchmark grid", timeout)


@dataclass(frozen=True)
class Series:
    label: str  # the legend text: the parameters that differ between series
    points: int  # plotted points with a value


_SERIES_JS = """
var plot = window.jQuery && jQuery('#main-graph').data('plot');
if (!plot) { return null; }
return plot.getData().map(function (s) {
    return {label: String(s.label || ''),
            points: s.data.filter(function (p) { return p && p[1] !== null && !isNaN(p[1]); }).length};
});
"""


def graph_series(driver, url: str, benchmark: str, timeout: float = 30, until=None) -> list[Series]:
    """The series plotted on ``benchmark``'s graph page, read from the page's live plot.

    The page adds each environment's series as its data arrives; ``until`` (a predicate on the
    list of :class:`Series`) waits for a complete plot, e.g. one with every zarr release in it.
    Without it, the first plot with any point is returned.
    """
    driver.get(url + "#" + benchmark)

    def plotted(d):
        raw = d.execute_script(_SERIES_JS)
        if not raw or not any(s["points"] for s in raw):
            return False
        series = [Series(s["label"], s["points"]) for s in raw]
        return series if until is None or until(series) else False

    return _wait(driver, plotted, f"a graph of {benchmark}", timeout)


def screenshot(html_dir: Path, out: Path, benchmark: str | None = None, size: str = "1400,900") -> Path:
    """A PNG of the benchmark grid, or of one benchmark's graph, as Chromium renders it."""
    try:
        width, height = (int(v) for v in size.split(","))
    except ValueError:
        raise DashboardError(f"--size {size!r}: give WIDTH,HEIGHT in pixels, e.g. 1400,900") from None
    with serve(html_dir) as url, open_browser((width, height)) as driver:
        if benchmark:
            graph_series(driver, url, benchmark)
        else:
            benchmark_names(driver, url)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".partial.png")
        if not driver.save_screenshot(str(tmp)):
            raise DashboardError(f"Chromium could not write a screenshot to {tmp}")
        tmp.replace(out)
    return out

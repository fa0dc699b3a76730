"""The S3 tier: the shaping proxy on known request sequences, the loopback S3 endpoint, every client on every
workload (checked, counted), the portal's image, and the benchmark classes driven as asv drives them."""

import http.client
import itertools
import json
import math
import os
import shutil
import threading
import time

import numpy as np
import pytest

from benchmarks import common, object_storage
from tests.test_benchmarks import benchmark_methods, drive, reload_suite
from zarr_cryoet.data import ome_zarr, readers, sources
from zarr_cryoet.engines import object_storage as clients
from zarr_cryoet.util.errors import UnknownEngineError
from zarr_cryoet.measure import object_traffic
from zarr_cryoet.store import compat, stores
from zarr_cryoet.store.loopback import RecordingHTTPServer
from zarr_cryoet.store.object_storage import CREDENTIALS, S3Endpoint
from zarr_cryoet.store.shaping_proxy import Shaping, ShapingProxy, request_kind

PLAIN = stores.Layout.from_spec("blosc-zstd", "64x64x64", 2)
SHARDED = stores.Layout.from_spec("blosc-zstd", "32x32x32/128x128x128", 3)
LAYOUTS = [PLAIN, SHARDED] if compat.ZARR_MAJOR >= 3 else [PLAIN]


# -- the proxy ---------------------------------------------------------------------------------------------
@pytest.fixture
def proxied(tmp_path):
    (tmp_path / "bucket").mkdir()
    (tmp_path / "bucket" / "object").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    with RecordingHTTPServer(tmp_path) as upstream, ShapingProxy(upstream.url) as proxy:
        yield proxy, upstream


def fetch(url, method="GET", path="/bucket/object", headers=None):
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def test_the_proxy_counts_a_known_sequence_by_kind_and_bytes(proxied):
    proxy, upstream = proxied
    assert fetch(proxy.url)[1] == bytes(range(256)) * 4096
    assert fetch(proxy.url, headers={"Range": "bytes=10-19"}) == (206, bytes(range(10, 20)))
    assert fetch(proxy.url, "HEAD") == (200, b"")
    fetch(proxy.url, path="/bucket?list-type=2&prefix=o")  # the upstream has no listing: counted all the same
    traffic = proxy.traffic()
    assert dict(traffic.requests) == {"GET": 1, "ranged GET": 1, "HEAD": 1, "LIST": 1}
    assert traffic.bytes == 2 ** 20 + 10 + len(fetch(proxy.url, path="/bucket?list-type=2&prefix=o")[1])
    assert [r.method for r in upstream.requests] == ["GET", "GET", "HEAD", "GET", "GET"]  # all forwarded
    proxy.reset()
    assert proxy.traffic().total == 0


def test_the_proxy_adds_its_latency_and_counts_requests_in_flight(proxied):
    proxy, _ = proxied
    proxy.shaping = Shaping(latency_s=0.2)
    t0 = time.perf_counter()
    threads = [threading.Thread(target=fetch, args=(proxy.url,), kwargs={"headers": {"Range": "bytes=0-9"}})
               for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    assert 0.2 <= elapsed < 1.0  # five at once: one round trip, not five
    assert proxy.traffic().max_in_flight == 5 and proxy.traffic().requests["ranged GET"] == 5


def test_the_proxy_shares_one_link_of_the_given_bandwidth(proxied):
    proxy, _ = proxied
    proxy.shaping = Shaping(bandwidth_bps=80e6)  # 1 MiB takes 0.105 s
    t0 = time.perf_counter()
    fetch(proxy.url)
    fetch(proxy.url)
    assert time.perf_counter() - t0 >= 2 * 2 ** 20 * 8 / 80e6


def test_request_kinds_and_bad_shaping():
    assert request_kind("GET", "/b/k/c/0/0/0", {}) == "GET"
    assert request_kind("GET", "/b/k/c/0/0/0", {"Range": "bytes=0-9"}) == "ranged GET"
    assert request_kind("GET", "/b?list-type=2&prefix=k", {}) == "LIST"
    assert request_kind("GET", "/b/", {}) == "LIST"
    assert request_kind("HEAD", "/b/k", {}) == "HEAD"
    with pytest.raises(ValueError, match="latency must be >= 0"):
        Shaping(latency_s=-1)
    with pytest.raises(ValueError, match="loopback"):
        ShapingProxy("http://example.org:80")


# -- the endpoint and the clients --------------------------------------------------------------------------
def _running(pid: int) -> bool:
    try:
        state = next(line for line in open(f"/proc/{pid}/status") if line.startswith("State:"))
    except (FileNotFoundError, StopIteration):
        return False
    return "Z" not in state.split()[1]  # a zombie has exited (its starter has not reaped it)


def test_one_endpoint_is_shared_and_stops_when_its_directory_goes(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "chunk").write_bytes(b"x" * 1000)
    first = S3Endpoint.shared(tmp_path / "cache")
    pid = json.loads((tmp_path / "cache" / "s3-endpoint.json").read_text())["pid"]
    assert first.put_tree(tmp_path / "store", "k") == 1
    first.stop()
    started = time.monotonic()
    second = S3Endpoint.shared(tmp_path / "cache")  # attached, not started: no interpreter to wait for
    assert time.monotonic() - started < 0.3 and second.url == first.url and _running(pid)
    assert second.put_tree(tmp_path / "store", "k") == 1  # uploaded once: the endpoint remembers
    assert sum(second.traffic().requests.values()) == 0  # a process attaching starts with clean counts
    second.stop()
    assert os.environ.get("AWS_ACCESS_KEY_ID") != CREDENTIALS["AWS_ACCESS_KEY_ID"]  # detached: credentials gone
    shutil.rmtree(tmp_path / "cache")  # as asv's setup cache after a run
    deadline = time.monotonic() + 10
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(pid)
    third = S3Endpoint.shared(tmp_path / "cache")  # a new one, since the old one is gone
    assert third.url != first.url
    third.stop()
    assert S3Endpoint.stop_shared(tmp_path / "cache") and not S3Endpoint.stop_shared(tmp_path / "cache")


@pytest.fixture(scope="module")
def volume():
    return np.random.default_rng(3).normal(size=(128, 128, 128)).astype("float32")


@pytest.fixture(scope="module")
def s3(tmp_path_factory, volume):
    work = tmp_path_factory.mktemp("s3")
    with S3Endpoint() as endpoint:
        for layout in LAYOUTS:
            endpoint.put_tree(stores.write_store(work / layout.slug, volume, layout), layout.slug)
        for metadata in ("plain", "consolidated"):
            image = ome_zarr.write_portal_image(work / metadata, volume, consolidated=metadata == "consolidated")
            endpoint.put_tree(image, f"{metadata}/{ome_zarr.PORTAL_KEY}")
        yield endpoint


def test_the_endpoint_runs_apart_with_dummy_credentials_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a-real-looking-key")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-real-looking-token")
    endpoint = S3Endpoint().start()
    process = endpoint._process
    try:
        assert process.pid != os.getpid() and process.poll() is None
        assert os.environ["AWS_ACCESS_KEY_ID"] == CREDENTIALS["AWS_ACCESS_KEY_ID"]
        assert "AWS_SESSION_TOKEN" not in os.environ
        assert endpoint.url.startswith("http://127.0.0.1:") and endpoint.upstream_url.startswith("http://127.0.0.1:")
        with pytest.raises(FileNotFoundError, match="no directory at .* write the store first"):
            endpoint.put_tree(tmp_path / "missing", "k")
    finally:
        endpoint.stop()
    assert process.poll() is not None
    assert os.environ["AWS_ACCESS_KEY_ID"] == "a-real-looking-key"
    assert os.environ["AWS_SESSION_TOKEN"] == "a-real-looking-token"


@pytest.mark.parametrize("name", clients.CLIENT_NAMES)
def test_every_client_reads_every_workload_checked_and_counted(s3, volume, name):
    client = clients.get(name)
    for layout in LAYOUTS:
        reason = client.unavailable(layout.zarr_format)
        if reason:
            assert "needs zarr >= 3" in reason or "not installed" in reason
            continue
        for workload in object_traffic.WORKLOADS:
            cost = object_traffic.read_traffic(client, s3, layout.slug, layout.zarr_format, workload, volume)
            assert isinstance(cost, object_traffic.Cost), (layout.slug, workload, cost)
            data_requests = cost.requests.get("GET", 0) + cost.requests.get("ranged GET", 0)
            if layout is PLAIN:  # one GET per chunk touched: 4 for the middle plane, all 8 for the volume
                expected = {"xy": 4, "orthogonal": 12, "full": 8}.get(workload)
                assert expected is None or data_requests == expected, (workload, cost.requests)
            assert cost.bytes > 0 and cost.max_in_flight >= 1 and cost.amplification > 0.5
        opened = object_traffic.open_traffic(client, s3, layout.slug, zarr_format=layout.zarr_format)
        assert isinstance(opened, object_traffic.Cost) and opened.total_requests >= 1


def test_requests_in_flight_follow_the_pinned_concurrency(s3, volume):
    client = clients.get("tensorstore" if compat.ZARR_MAJOR >= 3 else "zarr-python+s3fs")
    s3.shape(Shaping(0.02))
    try:
        counts = [object_traffic.read_traffic(client, s3, PLAIN.slug, 2, "full", volume, concurrency=c).max_in_flight
                  for c in (1, 8)]
    finally:
        s3.shape(Shaping())
    assert counts == [1, 8]


def test_a_client_failure_is_a_finding_not_a_crash(s3, volume):
    client = clients.get("zarr-python+s3fs")
    failed = object_traffic.read_traffic(client, s3, "no/such/store.zarr", 2, "xy", volume)
    assert isinstance(failed, object_traffic.Failed) and failed.message
    with pytest.raises(UnknownEngineError, match="unknown S3 client 'boto'; choose one of: zarr-python\\+obstore"):
        clients.get("boto")


def test_the_portal_image_opens_with_fewer_requests_when_consolidated(s3, volume, tmp_path):
    image = ome_zarr.write_portal_image(tmp_path / "image.zarr", volume)
    assert (image / "0" / "0" / "0" / "0").is_file() and not (image / ".zmetadata").exists()  # nested keys
    crop, info = readers.read_zarr(str(image), size=32, level=1)  # the suite's own reader takes it as an OME-Zarr
    assert crop.shape == (32, 32, 32) and np.array_equal(crop, volume[::2, ::2, ::2][16:48, 16:48, 16:48])
    client = clients.get("zarr-python+s3fs")
    plain, consolidated = (object_traffic.open_traffic(client, s3, f"{m}/{ome_zarr.PORTAL_KEY}", group=True,
                                                       consolidated=m == "consolidated", levels=3)
                           for m in ("plain", "consolidated"))
    assert consolidated.total_requests < plain.total_requests


# -- the benchmarks, as asv drives them --------------------------------------------------------------------
@pytest.fixture
def s3_cache(tmp_path, monkeypatch):
    """The S3 tier's setup cache on the 128³ phantom, with no latency: these tests check what is read, not when."""
    monkeypatch.setenv(sources.SOURCE_ENV, "phantom:128")
    monkeypatch.setenv("ZARR_CRYOET_PROVENANCE_DIR", str(tmp_path / "provenance"))
    reload_suite()
    import importlib

    importlib.reload(object_storage)
    monkeypatch.setattr(object_storage, "TRAFFIC_NETWORK", (0.0, None))
    # the plane and the whole volume stand for every workload (test_every_client_reads_every_workload reads them all)
    monkeypatch.setattr(object_storage, "COUNTED_WORKLOADS", ["xy", "full"])
    monkeypatch.setitem(object_storage.NETWORKS, object_storage.NETWORK_GRID[0], Shaping())
    monkeypatch.chdir(tmp_path)
    cache = common.build_cache(object_storage.LAYOUTS)
    yield cache
    if object_storage._endpoint is not None:
        object_storage._endpoint.stop()
        object_storage._endpoint = None
    assert S3Endpoint.stop_shared(cache["dir"])


def test_the_s3_benchmarks_run_or_skip_for_a_reason(s3_cache):
    for cls in (object_storage.Read, object_storage.Traffic, object_storage.ImageTraffic, object_storage.OpenImage):
        for method, params in itertools.product(benchmark_methods(cls), itertools.product(*cls.params)):
            named = dict(zip(cls.param_names, params))
            if named.get("workload", "xy") not in ("open", "xy", "full") or method in ("time_read_box32",):
                continue
            client = clients.get(named["client"])
            result = drive(cls, method, s3_cache, params)
            fmt = 3 if "/" in named.get("chunks", "") else 2
            expected_skip = (client.unavailable(fmt) is not None
                             or (cls.__name__ in ("OpenImage", "ImageTraffic") and named["client"] == "tensorstore"))
            assert (result == "skipped") == expected_skip, (cls, method, named)
            if expected_skip:
                continue
            if method == "track_read_amplification" and named["workload"] == "open":
                assert math.isnan(result)  # an open selects nothing
            elif method.startswith("track_"):
                assert result > 0, (cls, method, named)


def test_a_wrong_read_from_s3_fails_the_benchmark(s3_cache):
    params = (common.DATA[0], "64x64x64", "zarr-python+s3fs", object_storage.NETWORK_GRID[0])
    bench = object_storage.Read()
    bench.setup(s3_cache, *params)
    try:
        bench.time_read_xy(s3_cache, *params)
        bench.result = [r + 1 for r in bench.result]
        with pytest.raises(AssertionError, match="differs"):
            bench.teardown(s3_cache, *params)
    finally:
        bench._session = None


# -- the report ---------------------------------------------------------------------------------------------
def test_the_report_tables_and_the_answer_name_the_fastest_client_with_its_interval(tmp_path):
    from zarr_cryoet.stats.estimate import Estimate
    from zarr_cryoet.report import object_storage as s3_report
    from zarr_cryoet.answer.notes import extras
    from zarr_cryoet.asv.results import Env, ReportResults
    from zarr_cryoet.report.style import save_figure

    env = Env("env", "3.4.2", "3.13", "zarr 3.4.2")
    data, net = "phantom 128³ float32", s3_report.NETWORK
    values, estimates = {}, {}
    names = {"object_storage.Read.time_read_full": ["data", "chunks", "client", "network"],
             "object_storage.Read.time_read_xy": ["data", "chunks", "client", "network"],
             "object_storage.Traffic.track_requests": ["data", "chunks", "client", "workload"],
             "object_storage.ImageTraffic.track_requests": ["data", "metadata", "client"],
             "object_storage.Concurrency.time_read_full": ["data", "client", "concurrency"]}
    for client, (value, low, high) in {"zarr-python+obstore": (0.060, 0.058, 0.063),
                                       "zarr-python+s3fs": (0.090, 0.088, 0.095),
                                       "tensorstore": (0.061, 0.059, 0.066)}.items():
        for read, chunks, factor in (("full", "64x64x64", 1), ("xy", "64x64x64", 0.5),
                                     ("full", "32x32x32/128x128x128", 1.5), ("xy", "32x32x32/128x128x128", 2)):
            if read == "full" or client != "zarr-python+s3fs":
                key = ("env", f"object_storage.Read.time_read_{read}", (data, chunks, client, net))
                minima = (value * factor, (value + high) / 2 * factor, high * factor)  # three processes
                values[key], estimates[key] = value * factor, Estimate(value * factor, minima, 3)
        values[("env", "object_storage.Traffic.track_requests", (data, "64x64x64", client, "full"))] = 8
        for concurrency, seconds in ((8, 0.2), (64, 0.05)):
            key = ("env", "object_storage.Concurrency.time_read_full", (data, client, concurrency))
            values[key], estimates[key] = seconds, Estimate(seconds, (seconds, seconds * 1.02, seconds * 1.05), 3)
    for metadata, count in (("plain", 13), ("consolidated", 4)):
        values[("env", "object_storage.ImageTraffic.track_requests", (data, metadata, "zarr-python+s3fs"))] = count
    results = ReportResults(tmp_path, "m", "c" * 40, None, [env], values, {}, estimates, names, {k: "s" for k in names})
    rows = s3_report.read_rows(results)
    assert {(r["client"], r["workload"], r["requests"]) for r in rows
            if r["chunks"] == "64x64x64" and r["workload"] == "full"} == {
        ("zarr-python+obstore", "full", 8), ("zarr-python+s3fs", "full", 8), ("tensorstore", "full", 8)}
    assert all(r["low_ms"] <= r["ms"] <= r["high_ms"] and r["processes"] == 3 and r["zarr_version"] == "3.4.2"
               for r in rows if r["ms"] != "")
    assert len(s3_report.sweep_rows(results)) == 6
    assert [(r["metadata"], r["requests"]) for r in s3_report.open_rows(results)] == [("plain", 13),
                                                                                      ("consolidated", 4)]
    lines = [line for line in extras(results) if "object storage" in line or "OME-Zarr" in line]
    assert "full read, 64³ v2: **zarr-python+obstore** (60.0 ms (range 60.0–63.0, n=3))" in lines[0]
    # 3 processes a side: the rank test can never tell the clients apart (p ≥ 0.1), so every other client is ~
    assert "tensorstore ~ 61.0 ms" in lines[0] and "zarr-python+s3fs ~ 90.0 ms" in lines[0]
    assert "±" not in " ".join(lines)
    assert "zarr-python+s3fs 13 → 4 requests" in lines[1]
    assert save_figure(s3_report.build_figure(results), tmp_path / "s3.png").stat().st_size > 10_000
    # recommend's object-storage answer: the layout and the library, from both reads summed
    from zarr_cryoet.answer import recommend

    [answer] = [a for a in recommend.recommend(results, size=recommend.SMALL) if a.use_case.key == "object-storage"]
    assert answer.best.label == "64³ v2 via zarr-python+obstore" and answer.best.seconds == pytest.approx(0.090)
    assert answer.runner_up.chunks == "32x32x32/128x128x128" and answer.other_format is None
    assert {r.via for r in answer.ranked} == {"zarr-python+obstore", "tensorstore"}  # s3fs lacks the plane

"""A network between the clients and an object store: per-request latency, a bandwidth cap, and a count of it all.

:class:`ShapingProxy` listens on 127.0.0.1 (a free port) and forwards every request to an
upstream HTTP server (the S3 endpoint of :mod:`zarr_cryoet.store.object_storage`), so a client
talks to it exactly as it would to the store, path-style. On the way it

* **shapes**: waits :attr:`Shaping.latency_s` before forwarding each request (a round trip to a
  distant store) and sends the answers through one shared link of :attr:`Shaping.bandwidth_bps`
  bits per second (a request's body leaves when the link has carried everything queued before it);
* **counts** (:class:`Traffic`): requests by kind (``GET``, ``ranged GET``, ``HEAD``, ``LIST``,
  anything else by its method), the body bytes answered, and the most requests in flight at once.

Only loopback is ever contacted. Uploads should go to the upstream directly: they are set-up, not
traffic. Use it as a context manager, like :class:`~zarr_cryoet.store.loopback.RecordingHTTPServer`.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from zarr_cryoet.store.loopback import LoopbackServer

#: headers that belong to one connection, never forwarded (RFC 9110, 7.6.1)
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
               "content-length"}
#: the query parameters of S3's ListObjects (v1 and v2) on a bucket
_LIST_QUERY = {"list-type", "prefix", "delimiter", "marker", "continuation-token", "max-keys"}
KINDS = ("GET", "ranged GET", "HEAD", "LIST")


@dataclass(frozen=True)
class Shaping:
    """The network: ``latency_s`` before each request is forwarded, ``bandwidth_bps`` (bits/s) shared by all
    answers (None: loopback's own)."""

    latency_s: float = 0.0
    bandwidth_bps: float | None = None

    def __post_init__(self):
        if self.latency_s < 0 or (self.bandwidth_bps is not None and self.bandwidth_bps <= 0):
            raise ValueError(f"a latency must be >= 0 and a bandwidth > 0, not {self.latency_s} s and "
                             f"{self.bandwidth_bps} bit/s")


@dataclass
class Traffic:
    """What went through the proxy: requests by kind, body bytes answered, most requests in flight at once."""

    requests: Counter = field(default_factory=Counter)
    bytes: int = 0
    max_in_flight: int = 0

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def to_dict(self) -> dict:
        return {"requests": dict(self.requests), "total": self.total, "bytes": self.bytes,
                "max_in_flight": self.max_in_flight}


def request_kind(method: str, target: str, headers) -> str:
    """``GET``, ``ranged GET``, ``HEAD``, ``LIST`` (a GET on a bucket with ListObjects' query), or the method."""
    parsed = urllib.parse.urlsplit(target)
    query = set(urllib.parse.parse_qs(parsed.query, keep_blank_values=True))
    if method == "GET":
        if query & _LIST_QUERY or parsed.path.strip("/").count("/") == 0:
            return "LIST"
        return "ranged GET" if headers.get("Range") else "GET"
    return method


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections, as they do with S3

    def _forward(self):
        proxy = self.server.proxy
        kind = request_kind(self.command, self.path, self.headers)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        proxy._enter()
        try:
            shaping = proxy.shaping
            if shaping.latency_s:
                time.sleep(shaping.latency_s)
            try:
                status, reason, headers, payload = proxy._upstream_request(self.command, self.path, self.headers, body)
            except (OSError, http.client.HTTPException) as err:
                status, reason, headers, payload = 502, "Bad Gateway", [], f"upstream: {err}".encode()
            if payload and shaping.bandwidth_bps:
                proxy._carry(len(payload), shaping.bandwidth_bps)
        finally:
            proxy._leave(kind, len(payload))
        self.send_response(status, reason)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        upstream_length = dict((k.lower(), v) for k, v in headers).get("content-length")
        self.send_header("Content-Length", upstream_length if self.command == "HEAD" and upstream_length
                         else str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # clients open dozens of connections at once (see loopback._Server)

    def __init__(self, proxy):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.proxy = proxy

    def handle_error(self, request, client_address):
        pass  # a client hanging up is not the proxy's failure


class ShapingProxy(LoopbackServer):
    """Forward to ``upstream`` (``http://127.0.0.1:PORT``) from :attr:`url`, shaped by ``shaping``, counting."""

    def __init__(self, upstream: str, shaping: Shaping = Shaping()):
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.scheme != "http" or parsed.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the proxy forwards to a loopback http:// server only, not {upstream!r}")
        self._upstream = (parsed.hostname, parsed.port)
        self.shaping = shaping
        self._lock = threading.Lock()
        self._traffic = Traffic()
        self._in_flight = 0
        self._link_free_at = 0.0
        self._local = threading.local()

    def _make_server(self) -> _Server:
        return _Server(self)

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not running; call start() or use it in a with block")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def traffic(self) -> Traffic:
        """A copy of the traffic counted since the start or the last :meth:`reset`."""
        with self._lock:
            t = self._traffic
            return Traffic(Counter(t.requests), t.bytes, t.max_in_flight)

    def reset(self) -> None:
        with self._lock:
            self._traffic = Traffic()

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._traffic.max_in_flight = max(self._traffic.max_in_flight, self._in_flight)

    def _leave(self, kind: str, nbytes: int) -> None:
        with self._lock:
            self._in_flight -= 1
            self._traffic.requests[kind] += 1
            self._traffic.bytes += nbytes

    def _carry(self, nbytes: int, bandwidth_bps: float) -> None:
        """Wait until the shared link has carried ``nbytes`` after everything queued before them."""
        with self._lock:
            start = max(time.monotonic(), self._link_free_at)
            self._link_free_at = done = start + nbytes * 8 / bandwidth_bps
        time.sleep(max(0.0, done - time.monotonic()))

    def _upstream_request(self, method, target, headers, body):
        """One request to the upstream over this thread's kept-alive connection (opened again if it closed)."""
        forwarded = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        for attempt in (1, 2):
            connection = getattr(self._local, "connection", None)
            if connection is None:
                connection = self._local.connection = http.client.HTTPConnection(*self._upstream, timeout=60)
            try:
                connection.request(method, target, body=body, headers=forwarded)
                response = connection.getresponse()
                payload = response.read()
                return response.status, response.reason, response.getheaders(), payload
            except (http.client.HTTPException, ConnectionError):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise

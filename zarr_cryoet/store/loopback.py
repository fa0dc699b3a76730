"""HTTP on 127.0.0.1: serve a directory the way an object store serves a Zarr, and count what is asked.

:class:`RecordingHTTPServer` serves a directory on a free loopback port in a
background thread, answers GET/HEAD and single byte ranges (``Range:
bytes=a-b``, ``a-``, ``-n``: what fsspec's HTTP files and zarr's sharded reads
send), optionally waits ``latency`` seconds before each answer (a distant
object store), and records every request with the bytes it sent. The access
benchmarks count requests with it; the tests use it as a stand-in for the
CryoET Data Portal's HTTPS and for package registries. Nothing outside
127.0.0.1 is contacted.

Use it as a context manager::

    with RecordingHTTPServer(store_dir) as server:
        zarr.open_array(f"{server.url}/tomo.zarr", mode="r")[0]
        gets = [r for r in server.requests if r.method == "GET"]
"""

from __future__ import annotations

import functools
import os
import re
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class LoopbackServer:
    """Start/stop a server made by :meth:`_make_server` in a daemon thread; usable as a context manager."""

    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def _make_server(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    def start(self):
        if self._server is None:
            self._server = self._make_server()
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.05}, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class Request:
    """One answered request: method, path (as sent), status, Range header and body bytes sent."""

    method: str
    path: str
    status: int
    range: str | None = None
    bytes: int = 0


class _Handler(SimpleHTTPRequestHandler):
    """Serve files from ``directory``, honour single byte ranges, record requests, log nothing."""

    def send_head(self):
        if self.server.latency:
            time.sleep(self.server.latency)  # a distant object store's round trip
        header = self.headers.get("Range")
        path = self.translate_path(self.path)
        if header is None or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        span = _parse_range(header, size)
        if span is None:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        start, stop = span
        f = open(path, "rb")
        f.seek(start)
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{size}")
        self.send_header("Content-Length", str(stop - start))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return _Limited(f, stop - start)

    def log_request(self, code="-", size="-"):
        status = int(code) if str(code).isdigit() else 0
        self.server.record(Request(self.command, self.path, status, self.headers.get("Range"),
                                   self._body_bytes(status)))

    def _body_bytes(self, status: int) -> int:
        """Bytes a GET answered with ``status`` sends (called as the status line goes out)."""
        path = self.translate_path(self.path)
        if self.command != "GET" or status not in (200, 206) or not os.path.isfile(path):
            return 0
        size = os.path.getsize(path)
        span = _parse_range(self.headers.get("Range", ""), size) if status == 206 else (0, size)
        return span[1] - span[0] if span else 0

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


class _Limited:
    """A file object that yields at most ``length`` bytes (so ``copyfile`` sends only the range)."""

    def __init__(self, f, length: int):
        self._f, self._left = f, length

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        data = self._f.read(n)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._f.close()


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b`` -> ``(a, b + 1)`` clipped to the file, or None if not satisfiable."""
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        start, stop = max(size - int(last), 0), size
    else:
        start = int(first)
        stop = size if last == "" else min(int(last) + 1, size)
    return (start, stop) if start < stop else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # zarr fetches chunks concurrently (zarr 3: up to 100+ connections at once); with the
    # default backlog of 5, connections beyond it wait for a SYN retry (~1 s) and every
    # timing over loopback would measure the kernel's retry timer instead of the reads.
    request_queue_size = 1024

    def __init__(self, directory: Path, record, latency: float = 0.0):
        super().__init__(("127.0.0.1", 0), functools.partial(_Handler, directory=str(directory)))
        self.record = record
        self.latency = latency

    def handle_error(self, request, client_address):
        pass  # a client hanging up mid-response is not a test failure; stay quiet


class RecordingHTTPServer(LoopbackServer):
    """Serve ``directory`` at :attr:`url` (a random free port on 127.0.0.1) in a background thread."""

    def __init__(self, directory, latency: float = 0.0):
        self.directory = Path(directory)
        self.latency = latency
        self._requests: list[Request] = []
        self._lock = threading.Lock()

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def _make_server(self) -> _Server:
        return _Server(self.directory, self._record, self.latency)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not running; call start() or use it in a with block")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[Request]:
        """A copy of every request answered so far (kept after :meth:`stop`), oldest first."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget the requests recorded so far."""
        with self._lock:
            self._requests.clear()

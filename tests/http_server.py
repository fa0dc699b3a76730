"""A local HTTP server for tests: serves a directory on 127.0.0.1 and records every request.

Use it as a context manager::

    with RecordingHTTPServer(tmp_path) as server:
        read_zarr(f"{server.url}/tomo.zarr")
        gets = [r for r in server.requests if r.method == "GET"]

It answers GET and HEAD (from :class:`http.server.SimpleHTTPRequestHandler`)
and single byte ranges (``Range: bytes=a-b``, ``a-`` or ``-n``), which fsspec's
HTTP files use for partial reads; zarr fetches each chunk object with a plain
GET. Nothing is logged, and nothing outside 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.loopback import LoopbackServer

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class Request:
    """One answered request: method, path (as sent, relative to the server root), status, Range header."""

    method: str
    path: str
    status: int
    range: str | None = None


class _Handler(SimpleHTTPRequestHandler):
    """Serve files from ``directory``, honour single byte ranges, record requests, log nothing."""

    def send_head(self):
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
        self.server.record(Request(self.command, self.path, status, self.headers.get("Range")))

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

    def __init__(self, directory: Path, record):
        super().__init__(("127.0.0.1", 0), functools.partial(_Handler, directory=str(directory)))
        self.record = record

    def handle_error(self, request, client_address):
        pass  # a client hanging up mid-response is not a test failure; stay quiet


class RecordingHTTPServer(LoopbackServer):
    """Serve ``directory`` at :attr:`url` (a random free port on 127.0.0.1) in a background thread."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self._requests: list[Request] = []
        self._lock = threading.Lock()

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def _make_server(self) -> _Server:
        return _Server(self.directory, self._record)

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

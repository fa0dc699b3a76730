"""The child process of :class:`~zarr_cryoet.store.object_storage.S3Endpoint`: moto's S3 server and the shaping proxy.

``python -m zarr_cryoet.store.object_storage_server SHAPING CORES [DIRECTORY]`` starts moto's standalone S3
server (``ThreadedMotoServer``) on 127.0.0.1, port 0, with the bucket, and a
:class:`~zarr_cryoet.store.shaping_proxy.ShapingProxy` in front of it; it prints one JSON line,
``["ok", [upstream, proxy url]]`` (or ``["error", message]``), and then answers commands (``put_tree``,
``shape``, ``traffic``, ``reset``) as JSON lines: on stdin/stdout until stdin closes, or, given a
``DIRECTORY`` (a shared endpoint), on a control port on 127.0.0.1 (the third item of its first line) until
``DIRECTORY`` is removed, a ``shutdown`` command, or ``SHARED_IDLE_S`` without a command.
"""

from __future__ import annotations

import json
import logging
import os
import socketserver
import sys
import threading
import time
from pathlib import Path

from zarr_cryoet.store.object_storage import BUCKET, REGION, SHARED_IDLE_S
from zarr_cryoet.store.shaping_proxy import Shaping


def _serve(shaping: Shaping, cores: set[int] | None, shared: Path | None = None) -> None:  # the child process
    if cores:
        os.sched_setaffinity(0, cores)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
    reply = lambda status, value: print(json.dumps([status, value]), flush=True)  # noqa: E731
    try:
        import boto3
        from moto.server import ThreadedMotoServer

        from zarr_cryoet.store.shaping_proxy import ShapingProxy

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        upstream = f"http://{host}:{port}"
        client = boto3.client("s3", endpoint_url=upstream, region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        proxy = ShapingProxy(upstream, shaping).start()
        handle = _Commands(client, proxy)
        control = _control_server(handle) if shared else None
    except Exception as err:  # noqa: BLE001 - reported to the parent as one line
        reply("error", f"{type(err).__name__}: {err}")
        return
    if control is None:
        reply("ok", [upstream, proxy.url])
        for line in sys.stdin:  # until the parent closes it (stop(), or the parent's exit)
            reply(*handle(line))
    else:
        reply("ok", [upstream, proxy.url, control.server_address[1]])
        sys.stdout.close()
        _serve_until_unused(control, handle, shared)
    proxy.stop()
    server.stop()


class _Commands:
    """One command line in, ``(status, value)`` out; one at a time (the shared endpoint's connections are threads)."""

    def __init__(self, client, proxy):
        self.client, self.proxy, self.uploaded = client, proxy, {}
        self.lock = threading.Lock()
        self.last = _now()

    def __call__(self, line: str) -> tuple[str, object]:
        with self.lock:
            self.last = _now()
            try:
                command, *args = json.loads(line)
                return "ok", _command(self, command, args)
            except Exception as err:  # noqa: BLE001 - one line to the parent, the server keeps running
                return "error", f"{type(err).__name__}: {err}"


def _now() -> float:
    return time.monotonic()


def _control_server(handle: _Commands):
    """JSON lines on 127.0.0.1 (a free port), one thread per connection."""
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            for line in self.rfile:
                status, value = handle(line.decode())
                self.wfile.write((json.dumps([status, value]) + "\n").encode())
                if value == "shutting down":
                    self.server.stopping = True
                    return

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.stopping = False
    return server


def _serve_until_unused(control, handle: _Commands, directory: Path) -> None:
    """Serve the control port until told to stop, ``directory`` is gone, or nothing came for SHARED_IDLE_S."""
    thread = threading.Thread(target=control.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    while not control.stopping and directory.is_dir() and _now() - handle.last < SHARED_IDLE_S:
        threading.Event().wait(0.5)
    control.shutdown()
    control.server_close()


def _command(state: _Commands, command: str, args):
    client, proxy = state.client, state.proxy
    if command == "put_tree":
        directory, key = Path(args[0]), args[1]
        if state.uploaded.get(key, (None,))[0] == str(directory):  # a shared endpoint has it already
            return state.uploaded[key][1]
        files = [p for p in sorted(directory.rglob("*")) if p.is_file()]
        for path in files:
            client.put_object(Bucket=BUCKET, Key=f"{key}/{path.relative_to(directory).as_posix()}",
                              Body=path.read_bytes())
        state.uploaded[key] = (str(directory), len(files))
        return len(files)
    if command == "shape":
        proxy.shaping = Shaping(**args[0])
        return None
    if command == "traffic":
        return proxy.traffic().to_dict()
    if command == "reset":
        proxy.reset()
        return None
    if command == "shutdown":
        return "shutting down"
    raise ValueError(f"unknown command {command!r}")


if __name__ == "__main__":
    _serve(Shaping(**json.loads(sys.argv[1])), {int(c) for c in sys.argv[2].split(",") if c} or None,
           Path(sys.argv[3]) if len(sys.argv) > 3 else None)

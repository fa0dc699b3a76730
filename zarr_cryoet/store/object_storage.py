"""Object storage on loopback: an S3 API (moto's server) behind a shaping, counting proxy, in a child process.

:class:`S3Endpoint` starts, in a child process of its own:

* moto's standalone S3 server (``moto.server.ThreadedMotoServer``) on 127.0.0.1, port 0, with one
  bucket, :data:`BUCKET`;
* a :class:`~zarr_cryoet.store.shaping_proxy.ShapingProxy` in front of it, which the clients talk to
  (:attr:`S3Endpoint.url`): latency, bandwidth and the count of requests and bytes live there.

Why a child process: the server's work (moto parses and answers every request in Python, 2.5-4 ms
each here) must not share the measured process's interpreter lock, and where the machine has a core
that the measured process is not pinned to (asv's ``--cpu-affinity``), the child runs there. It is a
fresh interpreter (``python -m zarr_cryoet.store.object_storage``, about 0.5 s to start), not a fork:
forking a process whose threads may hold locks can deadlock the child. Commands and answers travel as
JSON lines over its stdin and stdout; when the parent goes away its stdin closes and it stops. Uploads
go to moto directly (set-up, not traffic).

Credentials are dummies (:data:`CREDENTIALS`), set in the environment while the endpoint runs (some
clients, tensorstore's among them, read them only from there) and restored afterwards: real ones are
never read, never sent, and only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
from collections import Counter
from pathlib import Path

from zarr_cryoet.errors import ZarrCryoetError
from zarr_cryoet.store.shaping_proxy import Shaping, Traffic

BUCKET = "zarr-cryoet"
REGION = "us-east-1"
#: dummies for moto (which does not check them); never real credentials
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "zarr-cryoet-dummy-key", "AWS_SECRET_ACCESS_KEY": "zarr-cryoet-dummy-secret",
               "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
#: environment variables that would point a client at a real account or another endpoint: unset while it runs
_UNSET = ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SHARED_CREDENTIALS_FILE")
_START_TIMEOUT = 60


class ObjectStorageError(ZarrCryoetError, RuntimeError):
    """The loopback S3 endpoint could not start or answer."""


class S3Endpoint:
    """An S3 API on 127.0.0.1 in a child process, with the proxy clients use (:attr:`url`).

    ``shaping`` is the network at the start (:meth:`shape` changes it). Use it as a context manager::

        with S3Endpoint() as s3:
            s3.put_tree("stores/tomo.zarr", "tomo.zarr")
            array = zarr.open_array(ObjectStore(S3Store(BUCKET, prefix="tomo.zarr", **s3.obstore_config())))
            s3.traffic()  # requests by kind, bytes, most in flight
    """

    def __init__(self, shaping: Shaping = Shaping()):
        self._initial = shaping
        self._process: subprocess.Popen | None = None
        self._saved_env: dict | None = None
        self.url = self.upstream_url = None

    # -- life cycle ---------------------------------------------------------------------------------------
    def start(self) -> S3Endpoint:
        if self._process is not None:
            return self
        cores = _other_cores()
        command = [sys.executable, "-m", __name__, json.dumps(_shaping_dict(self._initial)),
                   ",".join(map(str, sorted(cores))) if cores else ""]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, env={**os.environ, **CREDENTIALS})
        try:
            self.upstream_url, self.url = self._receive("start")
        except ObjectStorageError:
            self.stop()
            raise
        self._saved_env = {k: os.environ.get(k) for k in (*CREDENTIALS, *_UNSET)}
        for key in _UNSET:
            os.environ.pop(key, None)
        os.environ.update(CREDENTIALS)
        return self

    def stop(self) -> None:
        if self._saved_env is not None:
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._saved_env = None
        if self._process is not None:
            process, self._process = self._process, None
            try:
                process.stdin.close()  # the child's command loop ends at end of input
                process.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
            for stream in (process.stdout, process.stderr):
                stream.close()

    def __enter__(self) -> S3Endpoint:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- commands -----------------------------------------------------------------------------------------
    def _receive(self, what: str):
        """The child's one-line answer (it writes exactly one per command, so nothing waits in the buffer)."""
        ready, _, _ = select.select([self._process.stdout], [], [], _START_TIMEOUT)
        line = self._process.stdout.readline() if ready else ""
        if not line:
            error = f"no answer within {_START_TIMEOUT} s"
            if ready and self._process.wait(10) is not None:
                error = (self._process.stderr.read().strip().splitlines() or ["it exited"])[-1]
            raise ObjectStorageError(f"the loopback S3 endpoint failed to {what}: {error}")
        status, value = json.loads(line)
        if status != "ok":
            raise ObjectStorageError(f"the loopback S3 endpoint failed to {what}: {value}")
        return value

    def _call(self, command: str, *args):
        if self._process is None:
            raise ObjectStorageError("the S3 endpoint is not running; call start() or use it in a with block")
        self._process.stdin.write(json.dumps([command, *args]) + "\n")
        self._process.stdin.flush()
        return self._receive(command)

    def put_tree(self, directory, key: str) -> int:
        """Upload every file under ``directory`` to ``<BUCKET>/<key>/...`` (relative paths kept); the file count."""
        directory = Path(directory)
        if not directory.is_dir():
            raise FileNotFoundError(f"no directory at {directory} to upload; write the store first")
        return self._call("put_tree", str(directory.resolve()), key.strip("/"))

    def shape(self, shaping: Shaping) -> None:
        """Change the network for the requests that follow."""
        self._call("shape", _shaping_dict(shaping))

    def traffic(self) -> Traffic:
        counted = self._call("traffic")
        return Traffic(Counter(counted["requests"]), counted["bytes"], counted["max_in_flight"])

    def reset(self) -> None:
        """Forget the traffic counted so far."""
        self._call("reset")

    # -- how each client reaches it -----------------------------------------------------------------------
    def uri(self, key: str) -> str:
        return f"s3://{BUCKET}/{key.strip('/')}"

    def obstore_config(self) -> dict:
        """obstore's ``S3Store`` config (``aws_`` keys, as the zarrs pipeline requires) and client options."""
        return {"config": {"aws_endpoint": self.url, "aws_region": REGION,
                           "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                           "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                           "aws_virtual_hosted_style_request": False},
                "client_options": {"allow_http": True}}

    def s3fs_options(self) -> dict:
        """s3fs (fsspec) options: the endpoint, path-style, the dummy credentials, no listings cache."""
        return {"endpoint_url": self.url, "key": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                "secret": CREDENTIALS["AWS_SECRET_ACCESS_KEY"], "use_listings_cache": False,
                "client_kwargs": {"region_name": REGION}, "config_kwargs": {"s3": {"addressing_style": "path"}}}

    def tensorstore_kvstore(self, key: str) -> dict:
        """tensorstore's ``s3`` kvstore spec for ``key`` (credentials from the environment: the dummies)."""
        return {"driver": "s3", "bucket": BUCKET, "path": key.strip("/") + "/", "endpoint": self.url,
                "aws_region": REGION, "aws_credentials": {"type": "environment"}}


def _other_cores() -> set[int] | None:
    """The cores the server should run on: those the machine offers but this process is not pinned to."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    mine = os.sched_getaffinity(0)
    try:
        everything = os.sched_getaffinity(os.getppid())
    except OSError:
        everything = mine
    return (everything - mine) or None


def _shaping_dict(shaping: Shaping) -> dict:
    return {"latency_s": shaping.latency_s, "bandwidth_bps": shaping.bandwidth_bps}


def _serve(shaping: Shaping, cores: set[int] | None) -> None:  # the child process
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
    except Exception as err:  # noqa: BLE001 - reported to the parent as one line
        reply("error", f"{type(err).__name__}: {err}")
        return
    reply("ok", [upstream, proxy.url])
    for line in sys.stdin:  # until the parent closes it (stop(), or the parent's exit)
        command, *args = json.loads(line)
        try:
            reply("ok", _command(client, proxy, command, args))
        except Exception as err:  # noqa: BLE001 - one line to the parent, the server keeps running
            reply("error", f"{type(err).__name__}: {err}")
    proxy.stop()
    server.stop()


def _command(client, proxy, command: str, args):
    if command == "put_tree":
        directory, key = Path(args[0]), args[1]
        files = [p for p in sorted(directory.rglob("*")) if p.is_file()]
        for path in files:
            client.put_object(Bucket=BUCKET, Key=f"{key}/{path.relative_to(directory).as_posix()}",
                              Body=path.read_bytes())
        return len(files)
    if command == "shape":
        proxy.shaping = Shaping(**args[0])
        return None
    if command == "traffic":
        return proxy.traffic().to_dict()
    if command == "reset":
        proxy.reset()
        return None
    raise ValueError(f"unknown command {command!r}")


if __name__ == "__main__":
    _serve(Shaping(**json.loads(sys.argv[1])), {int(c) for c in sys.argv[2].split(",") if c} or None)

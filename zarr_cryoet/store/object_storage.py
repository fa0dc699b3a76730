"""Object storage on loopback: an S3 API (moto's server) behind a shaping, counting proxy, in a child process.

:class:`S3Endpoint` starts, in a child process of its own:

* moto's standalone S3 server (``moto.server.ThreadedMotoServer``) on 127.0.0.1, port 0, with one
  bucket, :data:`BUCKET`;
* a :class:`~zarr_cryoet.store.shaping_proxy.ShapingProxy` in front of it, which the clients talk to
  (:attr:`S3Endpoint.url`): latency, bandwidth and the count of requests and bytes live there.

Why a child process: the server's work (moto parses and answers every request in Python, 2.5-4 ms
each here) must not share the measured process's interpreter lock, and where the machine has a core
that the measured process is not pinned to (asv's ``--cpu-affinity``), the child runs there. It is a
fresh interpreter (``python -m zarr_cryoet.store.object_storage_server``, about 0.5 s to start), not a fork:
forking a process whose threads may hold locks can deadlock the child. Commands and answers travel as
JSON lines over its stdin and stdout; when the parent goes away its stdin closes and it stops. Uploads
go to moto directly (set-up, not traffic).

**Shared** (:meth:`S3Endpoint.shared`): the processes of one asv run share one endpoint per setup cache, rather
than each starting its own (half a second, and the uploads, in every benchmark process). The first starts
it detached, with a control port on 127.0.0.1 and its address in ``<directory>/s3-endpoint.json``; the
others attach to it. It stops when the directory is removed (asv's setup caches are, after every run),
after :data:`SHARED_IDLE_S` without a command, or on :meth:`S3Endpoint.stop_shared`. asv runs one benchmark
process at a time, so the counts of one are not mixed with another's.

Credentials are dummies (:data:`CREDENTIALS`), set in the environment while the endpoint runs (some
clients, tensorstore's among them, read them only from there) and restored afterwards: real ones are
never read, never sent, and only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.util.files import write_atomically
from zarr_cryoet.store.shaping_proxy import Shaping, Traffic

BUCKET = "zarr-cryoet"
REGION = "us-east-1"
#: dummies for moto (which does not check them); never real credentials
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "zarr-cryoet-dummy-key", "AWS_SECRET_ACCESS_KEY": "zarr-cryoet-dummy-secret",
               "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
#: environment variables that would point a client at a real account or another endpoint: unset while it runs
_UNSET = ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SHARED_CREDENTIALS_FILE")
_START_TIMEOUT = 60
#: a shared endpoint stops after this long without a command (asv interleaves environments: each has its own)
SHARED_IDLE_S = 600
_RECORD = "s3-endpoint.json"


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
        self._control: socket.socket | None = None  # a shared endpoint's control connection
        self._saved_env: dict | None = None
        self.url = self.upstream_url = None

    # -- life cycle ---------------------------------------------------------------------------------------
    def start(self) -> S3Endpoint:
        if self._process is not None or self._control is not None:
            return self
        self._process = self._spawn(stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.upstream_url, self.url = self._receive("start")[:2]
        except ObjectStorageError:
            self.stop()
            raise
        self._use_credentials()
        return self

    @classmethod
    def shared(cls, directory) -> S3Endpoint:
        """The endpoint of ``directory``, shared by every process that asks: attached to if one serves it, else
        started detached (see the module's notes). ``stop()`` detaches; the network starts as a fresh one's."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        endpoint = cls()
        with open(directory / f"{_RECORD}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one starter at a time
            record = directory / _RECORD
            if record.is_file():
                try:
                    return endpoint._attach(json.loads(record.read_text()))
                except (OSError, ValueError, ObjectStorageError):
                    endpoint._detach()  # gone (idle, killed): start another
            with open(directory / "s3-endpoint.log", "a") as log:
                process = endpoint._spawn(stdin=subprocess.DEVNULL, stderr=log, shared=directory)
            endpoint._process = process
            try:
                upstream, url, port = endpoint._receive("start")
            except ObjectStorageError:
                process.kill()
                raise
            finally:
                endpoint._process = None
                process.stdout.close()  # the daemon answers on its control port from now on
            address = {"upstream": upstream, "url": url, "control": port, "pid": process.pid}
            endpoint._attach(address)
            write_atomically(record, json.dumps(address))
        return endpoint

    @classmethod
    def stop_shared(cls, directory) -> bool:
        """Stop the endpoint ``directory`` shares, if one runs; whether one did."""
        record = Path(directory) / _RECORD
        try:
            endpoint = cls()._attach(json.loads(record.read_text()))
        except (OSError, ValueError, ObjectStorageError):
            return False
        try:
            endpoint._call("shutdown")
        finally:
            endpoint.stop()
            record.unlink(missing_ok=True)
        return True

    def _spawn(self, *, stdin, stderr, shared: Path | None = None) -> subprocess.Popen:
        cores = _other_cores()
        command = [sys.executable, "-m", "zarr_cryoet.store.object_storage_server", json.dumps(_shaping_dict(self._initial)),
                   ",".join(map(str, sorted(cores))) if cores else "", *([str(shared)] if shared else [])]
        return subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                env={**os.environ, **CREDENTIALS}, start_new_session=shared is not None)

    def _attach(self, address: dict) -> S3Endpoint:
        try:
            self._control = socket.create_connection(("127.0.0.1", int(address["control"])), timeout=_START_TIMEOUT)
        except OSError as err:
            raise ObjectStorageError(f"the shared S3 endpoint does not answer ({err})") from None
        self._lines = self._control.makefile("r", encoding="utf-8")
        self.upstream_url, self.url = address["upstream"], address["url"]
        self.reset()
        self.shape(self._initial)
        self._use_credentials()
        return self

    def _detach(self) -> None:
        if self._control is not None:
            self._lines.close()
            self._control.close()
            self._control = None

    def _use_credentials(self) -> None:
        self._saved_env = {k: os.environ.get(k) for k in (*CREDENTIALS, *_UNSET)}
        for key in _UNSET:
            os.environ.pop(key, None)
        os.environ.update(CREDENTIALS)

    def stop(self) -> None:
        if self._saved_env is not None:
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._saved_env = None
        self._detach()
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
                error = (self._process.stderr.read().strip().splitlines() if self._process.stderr else [])
                error = (error or ["it exited"])[-1]
            raise ObjectStorageError(f"the loopback S3 endpoint failed to {what}: {error}")
        status, value = json.loads(line)
        if status != "ok":
            raise ObjectStorageError(f"the loopback S3 endpoint failed to {what}: {value}")
        return value

    def _call(self, command: str, *args):
        if self._control is not None:
            try:
                self._control.sendall((json.dumps([command, *args]) + "\n").encode())
                line = self._lines.readline()
            except OSError as err:
                raise ObjectStorageError(f"the shared S3 endpoint failed to {command}: {err}") from None
            status, value = json.loads(line) if line else ("error", "it went away")
            if status != "ok":
                raise ObjectStorageError(f"the shared S3 endpoint failed to {command}: {value}")
            return value
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

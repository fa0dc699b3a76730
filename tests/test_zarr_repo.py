"""The zarr sdists of the upstream-tracking test: cached, and checked against the index's sha256 at every use.

Against a package index served on 127.0.0.1 (tests/http_server.py); nothing here touches the internet.
"""

import hashlib
import json
import os

import pytest

from tests import zarr_repo
from tests.http_server import RecordingHTTPServer

VERSION = "9.9.9"
NAME = f"zarr-{VERSION}.tar.gz"


def sdist(text: str = "the zarr sdist") -> bytes:
    """The file's bytes (only downloaded and hashed here, never unpacked)."""
    return text.encode()


@pytest.fixture
def index(tmp_path, monkeypatch):
    """A PEP 503 index with one zarr sdist (its link carries ``#sha256=``); ``publish`` changes either."""
    root = tmp_path / "index"
    (root / "simple" / "zarr").mkdir(parents=True)
    (root / "packages").mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # pip sees only the index set here
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX", "PIP_FIND_LINKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZARR_CRYOET_CACHE", str(tmp_path / "cache"))
    with RecordingHTTPServer(root) as server:
        def publish(data: bytes, sha256: str | None = None):
            (root / "packages" / NAME).write_bytes(data)
            sha256 = sha256 or hashlib.sha256(data).hexdigest()
            (root / "simple" / "zarr" / "index.html").write_text(
                f'<html><body><a href="../../packages/{NAME}#sha256={sha256}">{NAME}</a></body></html>\n')
        publish(sdist())
        monkeypatch.setenv("PIP_INDEX_URL", f"{server.url}/simple")
        server.publish = publish
        yield server


def test_an_sdist_is_cached_with_the_index_hash_and_reused(tmp_path, index):
    path = zarr_repo.download_sdist(VERSION)
    assert path == tmp_path / "cache" / "sdists" / NAME
    assert path.read_bytes() == sdist()
    assert (path.parent / f"{NAME}.sha256").read_text().strip() == hashlib.sha256(sdist()).hexdigest()
    index.reset()
    assert zarr_repo.download_sdist(VERSION) == path
    assert index.requests == []  # verified against the recorded hash, not fetched


def test_a_changed_cached_sdist_is_deleted_and_fetched_again(index):
    path = zarr_repo.download_sdist(VERSION)
    path.write_bytes(sdist("tampered"))
    index.reset()
    assert zarr_repo.download_sdist(VERSION).read_bytes() == sdist()
    assert [r.path for r in index.requests] == ["/simple/zarr/", f"/packages/{NAME}"]


def test_an_sdist_that_does_not_match_the_index_hash_is_refused(index):
    index.publish(sdist(), sha256="0" * 64)
    with pytest.raises(zarr_repo.SdistError, match="does not match the sha256 its package index gives"):
        zarr_repo.download_sdist(VERSION)
    assert not (zarr_repo.cache_root() / "sdists" / NAME).exists()


def test_a_version_the_index_does_not_have(index):
    with pytest.raises(zarr_repo.SdistError, match="zarr-0.0.1.tar.gz is on none of pip's indexes"):
        zarr_repo.download_sdist("0.0.1")


def test_pep_691_json_index(tmp_path, index, monkeypatch):
    data = sdist()
    page = {"meta": {"api-version": "1.0"}, "name": "zarr",
            "files": [{"filename": NAME, "url": f"{index.url}/packages/{NAME}",
                       "hashes": {"sha256": hashlib.sha256(data).hexdigest()}}]}
    root = tmp_path / "index"
    (root / "json" / "zarr").mkdir(parents=True)
    (root / "json" / "zarr" / "index.json").write_text(json.dumps(page))
    monkeypatch.setattr(zarr_repo, "_read", lambda url, timeout=120: (
        ((root / "json" / "zarr" / "index.json").read_bytes(), "application/vnd.pypi.simple.v1+json")
        if url.endswith("/zarr/") else ((root / "packages" / NAME).read_bytes(), "application/octet-stream")))
    assert zarr_repo.download_sdist(VERSION).read_bytes() == data

"""Vendoring the dashboard's CDN libraries, against an npm registry the test serves on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.http_server import RecordingHTTPServer
from zarr_cryoet.tracking import dashboard_assets as assets

LIBRARY = b"window.demo = function () { return 42; };\n"


def sri(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def npm_tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A registry with demo-lib@1.0.0; the tarball's published hash can be made wrong."""
    root = tmp_path / "registry"
    (root / "demo-lib").mkdir(parents=True)
    tarball = npm_tarball({"dist/demo.min.js": LIBRARY, "dist/fonts/icon.woff": b"font"})
    (root / "demo-lib-1.0.0.tgz").write_bytes(tarball)
    monkeypatch.setenv("ZARR_CRYOET_CACHE", str(tmp_path / "cache"))
    with RecordingHTTPServer(root) as server:
        def publish(integrity=sri(tarball, "sha512")):
            meta = {"name": "demo-lib", "version": "1.0.0",
                    "dist": {"tarball": f"{server.url}/demo-lib-1.0.0.tgz", "integrity": integrity}}
            (root / "demo-lib" / "1.0.0").write_text(json.dumps(meta))
        publish()
        monkeypatch.setenv(assets.REGISTRY_ENV, server.url)
        server.publish = publish
        yield server


def dashboard(tmp_path: Path, integrity: str) -> Path:
    html = tmp_path / "html"
    html.mkdir(parents=True)
    (html / "index.html").write_text(
        "<html><head>\n"
        f'<script src="https://cdn.jsdelivr.net/npm/demo-lib@1.0.0/dist/demo.min.js" integrity="{integrity}" '
        'crossorigin="anonymous" onerror="js_load_failure()"></script>\n'
        '<script src="https://example.org/unknown.js"></script>\n'
        '<script src="asv.js"></script>\n</head></html>\n')
    return html


def test_cdn_files_are_vendored_and_still_verified_by_the_browser(tmp_path, registry):
    html = dashboard(tmp_path, sri(LIBRARY))
    done = assets.make_self_contained(html)
    page = (html / "index.html").read_text()
    assert f'src="vendor/demo-lib@1.0.0/dist/demo.min.js" integrity="{sri(LIBRARY)}"' in page
    assert (html / "vendor" / "demo-lib@1.0.0" / "dist" / "demo.min.js").read_bytes() == LIBRARY
    assert "https://example.org/unknown.js" in page and '<script src="asv.js">' in page
    assert any("verified by the page's integrity hash" in line for line in done)
    assert any("unknown, still loaded from the internet" in line for line in done)
    # cached: a second dashboard needs no registry
    registry.reset()
    assets.make_self_contained(dashboard(tmp_path / "again", sri(LIBRARY)))
    assert registry.requests == []


def cached_tarball(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "npm" / "demo-lib-1.0.0.tgz"


def test_the_cache_keeps_the_registry_hash_and_checks_it_at_every_use(tmp_path, registry):
    assets.make_self_contained(dashboard(tmp_path, sri(LIBRARY)))
    tarball = cached_tarball(tmp_path)
    record = tarball.with_name(tarball.name + ".integrity")
    good = tarball.read_bytes()
    assert record.read_text().strip() == sri(good, "sha512")  # the registry's dist.integrity, as published
    # a cached tarball that no longer matches its hash is deleted and fetched again, not used
    tarball.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    registry.reset()
    html = dashboard(tmp_path / "tampered", sri(LIBRARY))
    assets.make_self_contained(html)
    assert [r.path for r in registry.requests] == ["/demo-lib/1.0.0", "/demo-lib-1.0.0.tgz"]
    assert tarball.read_bytes() == good and record.read_text().strip() == sri(good, "sha512")
    assert (html / "vendor" / "demo-lib@1.0.0" / "dist" / "demo.min.js").read_bytes() == LIBRARY
    # a tarball without its hash (e.g. left by a run killed between the two writes) is fetched again too
    record.unlink()
    registry.reset()
    assets.make_self_contained(dashboard(tmp_path / "unrecorded", sri(LIBRARY)))
    assert len(registry.requests) == 2 and record.is_file()


def test_a_changed_cached_tarball_that_the_registry_no_longer_vouches_for_is_refused(tmp_path, registry):
    assets.make_self_contained(dashboard(tmp_path, sri(LIBRARY)))
    cached_tarball(tmp_path).write_bytes(npm_tarball({"dist/demo.min.js": b"window.evil = 1;\n"}))
    registry.publish(integrity=sri(b"something else", "sha512"))
    with pytest.raises(assets.AssetError, match="does not match the registry's hash; not used"):
        assets.make_self_contained(dashboard(tmp_path / "again", sri(LIBRARY)))
    assert not cached_tarball(tmp_path).exists()


def test_registry_shasum_is_used_when_there_is_no_integrity(tmp_path, registry):
    tarball = (tmp_path / "registry" / "demo-lib-1.0.0.tgz").read_bytes()
    meta_path = tmp_path / "registry" / "demo-lib" / "1.0.0"
    meta = json.loads(meta_path.read_text())
    meta["dist"] = {"tarball": meta["dist"]["tarball"], "shasum": hashlib.sha1(tarball).hexdigest()}
    meta_path.write_text(json.dumps(meta))
    assert assets.fetch_package("demo-lib", "1.0.0") == tarball
    record = cached_tarball(tmp_path).with_name("demo-lib-1.0.0.tgz.integrity")
    assert record.read_text().strip() == sri(tarball, "sha1")
    registry.reset()
    assert assets.fetch_package("demo-lib", "1.0.0") == tarball and registry.requests == []


def test_a_file_that_differs_from_the_cdn_loses_its_integrity_attribute(tmp_path, registry):
    html = dashboard(tmp_path, sri(b"the CDN's minified build", "sha512"))
    done = assets.make_self_contained(html)
    page = (html / "index.html").read_text()
    assert '<script src="vendor/demo-lib@1.0.0/dist/demo.min.js" onerror="js_load_failure()"></script>' in page
    assert "integrity dropped" in done[0]


def test_a_tarball_that_does_not_match_the_registry_hash_is_refused(tmp_path, registry):
    registry.publish(integrity=sri(b"something else", "sha512"))
    html = dashboard(tmp_path, sri(LIBRARY))
    before = (html / "index.html").read_text()
    with pytest.raises(assets.AssetError, match="does not match the registry's hash; not used"):
        assets.make_self_contained(html)
    assert (html / "index.html").read_text() == before
    assert not list((tmp_path / "cache").rglob("*.tgz"))


def test_unreachable_registry_and_missing_dashboard(tmp_path, monkeypatch):
    with RecordingHTTPServer(tmp_path) as server:
        url = server.url
    monkeypatch.setenv(assets.REGISTRY_ENV, url)
    monkeypatch.setenv("ZARR_CRYOET_CACHE", str(tmp_path / "cache"))
    with pytest.raises(assets.AssetError, match=f"could not fetch demo-lib@1.0.0 from the npm registry {url}"):
        assets.make_self_contained(dashboard(tmp_path, sri(LIBRARY)))
    with pytest.raises(assets.AssetError, match="run asv publish first"):
        assets.make_self_contained(tmp_path / "nowhere")


def test_asv_cdn_urls_map_to_npm_packages():
    assert assets.npm_source("https://code.jquery.com/jquery-3.3.1.min.js") == ("jquery", "3.3.1",
                                                                                 "dist/jquery.min.js")
    assert assets.npm_source("https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css") == (
        "bootstrap", "3.1.1", "dist/css/bootstrap.min.css")
    assert assets.npm_source("https://example.org/x.js") is None


def test_screenshot_of_a_missing_dashboard_is_one_clear_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "zarr_cryoet.cli", "screenshot", "--html", str(tmp_path / "nope"),
                           "--out", str(tmp_path / "x.png")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"zarr-cryoet: error: no dashboard in {tmp_path / 'nope'} (index.html missing); run asv publish first "
        "(python3 tasks.py benchmark does)"]
    assert not (tmp_path / "x.png").exists()

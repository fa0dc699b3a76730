"""Make asv's published dashboard self-contained, so it works offline and on air-gapped clusters.

``asv publish`` (0.6) writes an ``index.html`` that loads jQuery, flot,
Bootstrap and three small plugins from public CDNs. Without internet access
the page shows only "Can not determine continental origin of swallow" - the
situation of many HPC clusters that keep tomograms, and of this project's CI.

:func:`make_self_contained` puts copies of those files next to the dashboard
(``html/vendor/``) and points ``index.html`` at them. The copies come from the
npm registry, a package registry (``$NPM_CONFIG_REGISTRY``, default
https://registry.npmjs.org), as the published package tarballs, checked
against the registry's ``dist.integrity`` hash and cached in
``~/.cache/zarr-cryoet/npm``. Where the packaged file is byte-identical to
the CDN's, the page keeps asv's ``integrity`` attribute, so the browser
itself verifies it; cdnjs's minified flot and stupidtable builds are not
published on npm, so the same releases' unminified files are used there
(stupidtable: 1.1.3, the only release on npm) and that attribute is dropped.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
from pathlib import Path

from zarr_cryoet.errors import ZarrCryoetError

REGISTRY_ENV = "NPM_CONFIG_REGISTRY"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
VENDOR_DIR = "vendor"

_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs/"
#: CDN URL in asv's index.html -> (npm package, version, file in the package)
ASSETS = {
    "https://code.jquery.com/jquery-3.3.1.min.js": ("jquery", "3.3.1", "dist/jquery.min.js"),
    _CDNJS + "flot/0.8.3/jquery.flot.min.js": ("flot", "0.8.3", "jquery.flot.js"),
    _CDNJS + "flot/0.8.3/jquery.flot.time.min.js": ("flot", "0.8.3", "jquery.flot.time.js"),
    _CDNJS + "flot/0.8.3/jquery.flot.selection.min.js": ("flot", "0.8.3", "jquery.flot.selection.js"),
    _CDNJS + "flot/0.8.3/jquery.flot.categories.min.js": ("flot", "0.8.3", "jquery.flot.categories.js"),
    _CDNJS + "stupidtable/1.0.1/stupidtable.min.js": ("stupid-table-plugin", "1.1.3", "stupidtable.min.js"),
    _CDNJS + "blueimp-md5/2.19.0/js/md5.min.js": ("blueimp-md5", "2.19.0", "js/md5.min.js"),
}
_JSDELIVR_NPM = re.compile(r"^https://cdn\.jsdelivr\.net/npm/(?P<package>[^@/]+)@(?P<version>[^/]+)/(?P<path>.+)$")
#: files a vendored file refers to by relative URL (Bootstrap's CSS loads its icon font)
COMPANIONS = {("bootstrap", "dist/css/bootstrap.min.css"): [
    f"dist/fonts/glyphicons-halflings-regular.{ext}" for ext in ("eot", "svg", "ttf", "woff")]}
_TAG = re.compile(r"<(script|link)\b[^>]*?\b(src|href)=\"(https://[^\"]+)\"[^>]*>", re.I)


class AssetError(ZarrCryoetError):
    """A dashboard library could not be fetched or did not verify."""


def registry_url() -> str:
    return (os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY).rstrip("/")


def cache_dir() -> Path:
    base = os.environ.get("ZARR_CRYOET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "zarr-cryoet")
    return Path(base) / "npm"


def npm_source(url: str) -> tuple[str, str, str] | None:
    """(package, version, path) on npm for a CDN URL, or None if unknown."""
    if url in ASSETS:
        return ASSETS[url]
    match = _JSDELIVR_NPM.match(url)
    return (match["package"], match["version"], match["path"]) if match else None


def sri_matches(data: bytes, integrity: str) -> bool:
    """Whether ``data`` has one of the hashes of a Subresource Integrity attribute (sha256/384/512-BASE64)."""
    for token in integrity.split():
        algorithm, _, expected = token.partition("-")
        if algorithm in ("sha256", "sha384", "sha512"):
            digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
            if digest == expected:
                return True
    return False


def fetch_package(package: str, version: str, timeout: float = 60) -> bytes:
    """The npm tarball of package@version, verified against the registry's integrity hash, cached."""
    import requests

    cached = cache_dir() / f"{package}-{version}.tgz"
    if cached.is_file():
        return cached.read_bytes()
    registry = registry_url()
    try:
        meta = requests.get(f"{registry}/{package}/{version}", timeout=timeout)
        meta.raise_for_status()
        dist = meta.json()["dist"]
        tarball = requests.get(dist["tarball"], timeout=timeout)
        tarball.raise_for_status()
    except (requests.RequestException, ValueError, KeyError) as err:
        raise AssetError(f"could not fetch {package}@{version} from the npm registry {registry} ({err}); "
                         f"set {REGISTRY_ENV} to a reachable registry or mirror") from None
    integrity = dist.get("integrity") or ""
    if not sri_matches(tarball.content, integrity) and not (
            "shasum" in dist and hashlib.sha1(tarball.content).hexdigest() == dist["shasum"]):
        raise AssetError(f"{package}@{version} from {registry} does not match the registry's hash; not used")
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(cached.name + ".partial")
    tmp.write_bytes(tarball.content)
    os.replace(tmp, cached)
    return tarball.content


def package_file(tarball: bytes, path: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for member in tar.getmembers():
            # npm tarballs keep their files under one top directory, usually "package/"
            if member.isfile() and member.name.partition("/")[2] == path:
                return tar.extractfile(member).read()
    raise AssetError(f"{path} is not in the npm package")


def _vendor_path(package: str, version: str, path: str) -> str:
    return f"{VENDOR_DIR}/{package}@{version}/{path}"


def make_self_contained(html_dir: str | Path) -> list[str]:
    """Vendor the CDN files of ``html_dir/index.html`` and point the page at them; lines saying what was done."""
    html_dir = Path(html_dir)
    index = html_dir / "index.html"
    if not index.is_file():
        raise AssetError(f"no dashboard in {html_dir} (index.html missing); run asv publish first")
    page = index.read_text(encoding="utf-8")
    done, unknown = [], []
    replacements = {}
    for match in _TAG.finditer(page):
        tag, url = match.group(0), match.group(3)
        source = npm_source(url)
        if source is None:
            unknown.append(url)
            continue
        package, version, path = source
        tarball = fetch_package(package, version)
        data = package_file(tarball, path)
        for relative in [path, *COMPANIONS.get((package, path), [])]:
            target = html_dir / _vendor_path(package, version, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data if relative == path else package_file(tarball, relative))
        new_tag = tag.replace(url, _vendor_path(package, version, path))
        integrity = re.search(r'\bintegrity="([^"]*)"', tag)
        if integrity and not sri_matches(data, integrity.group(1)):
            new_tag = re.sub(r'\s+(integrity|crossorigin|referrerpolicy)="[^"]*"', "", new_tag)
            done.append(f"{url} -> npm {package}@{version}/{path} (not byte-identical: integrity dropped)")
        else:
            done.append(f"{url} -> npm {package}@{version}/{path} (verified by the page's integrity hash)")
        replacements[tag] = new_tag
    for old, new in replacements.items():
        page = page.replace(old, new)
    tmp = index.with_name("index.html.partial")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, index)
    done += [f"{url}: unknown, still loaded from the internet" for url in unknown]
    return done

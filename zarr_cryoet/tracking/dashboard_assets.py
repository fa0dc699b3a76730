"""Make asv's published dashboard self-contained, so it works offline and on air-gapped clusters.

``asv publish`` (0.6) writes an ``index.html`` that loads jQuery, flot,
Bootstrap and three small plugins from public CDNs. Without internet access
the page shows only "Can not determine continental origin of swallow" - the
situation of many HPC clusters that keep tomograms, and of this project's CI.

:func:`make_self_contained` puts copies of those files next to the dashboard
(``html/vendor/``) and points ``index.html`` at them. The copies come from the
npm registry, a package registry (``$NPM_CONFIG_REGISTRY``, default
https://registry.npmjs.org), as the published package tarballs, checked
against the registry's ``dist.integrity`` hash and cached in ``npm/`` of the
project's cache directory (:func:`zarr_cryoet.util.files.cache_root`, by default
``~/.cache/zarr-cryoet``) next to that hash (``<package>-<version>.tgz.integrity``),
against which a cached tarball is checked again every time it is used. Where
the packaged file is byte-identical to the CDN's, the page keeps asv's
``integrity`` attribute, so the browser itself verifies it; cdnjs's minified
flot and stupidtable builds are not published on npm, so the same releases'
unminified files are used there (stupidtable: 1.1.3, the only release on npm)
and that attribute is dropped.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
from pathlib import Path

from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.util.files import cache_root, write_atomically

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
    return cache_root() / "npm"


def npm_source(url: str) -> tuple[str, str, str] | None:
    """(package, version, path) on npm for a CDN URL, or None if unknown."""
    if url in ASSETS:
        return ASSETS[url]
    match = _JSDELIVR_NPM.match(url)
    return (match["package"], match["version"], match["path"]) if match else None


def sri_matches(data: bytes, integrity: str, algorithms=("sha256", "sha384", "sha512")) -> bool:
    """Whether ``data`` has one of the hashes of a Subresource Integrity attribute (sha256/384/512-BASE64).

    npm's ``dist.integrity`` has the same form; for old packages it may be ``sha1-``, which
    :func:`fetch_package` accepts (browsers do not).
    """
    for token in integrity.split():
        algorithm, _, expected = token.partition("-")
        if algorithm in algorithms:
            digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
            if digest == expected:
                return True
    return False


_NPM_ALGORITHMS = ("sha1", "sha256", "sha384", "sha512")


def fetch_package(package: str, version: str, timeout: float = 60) -> bytes:
    """The npm tarball of package@version, verified against the registry's integrity hash, cached.

    The cache keeps the registry's hash next to the tarball, and a cached tarball is used only
    while it still matches it; one that does not (or has no hash) is deleted and fetched again.
    """
    cached = cache_dir() / f"{package}-{version}.tgz"
    record = cached.with_name(cached.name + ".integrity")
    if cached.is_file() and record.is_file():
        data = cached.read_bytes()
        if sri_matches(data, record.read_text().strip(), _NPM_ALGORITHMS):
            return data
    record.unlink(missing_ok=True)
    cached.unlink(missing_ok=True)
    data, integrity = _download_package(package, version, timeout)
    write_atomically(cached, data)
    write_atomically(record, integrity + "\n")  # last: a tarball without its hash is never used
    return data


def _download_package(package: str, version: str, timeout: float) -> tuple[bytes, str]:
    """The tarball from the registry and its integrity string (SRI form), checked against each other."""
    import requests

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
    if not integrity and len(dist.get("shasum") or "") == 40:  # old packages: only a hex SHA-1
        integrity = "sha1-" + base64.b64encode(bytes.fromhex(dist["shasum"])).decode()
    if not sri_matches(tarball.content, integrity, _NPM_ALGORITHMS):
        raise AssetError(f"{package}@{version} from {registry} does not match the registry's hash; not used")
    return tarball.content, integrity


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
            write_atomically(target, data if relative == path else package_file(tarball, relative))
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
    write_atomically(index, page)
    done += [f"{url}: unknown, still loaded from the internet" for url in unknown]
    return done

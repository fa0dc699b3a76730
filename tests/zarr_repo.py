"""A local stand-in for zarr-python's git repository, made from released sdists.

Machines here cannot clone GitHub, so the upstream-tracking tests benchmark a
repository with one commit per zarr release, each tagged ``v<version>`` the
way zarr tags its releases (setuptools-scm / hatch-vcs read the version from
the tag when asv builds a commit).

The sdists are cached in ``sdists/`` of the project's cache directory
(:func:`zarr_cryoet.util.files.cache_root`), each next to the sha256 that pip's
package index publishes for it (``<file>.sha256``, from the index's PEP 691
JSON or the ``#sha256=`` of its PEP 503 link). A cached file is checked against
that hash every time it is used; one that does not match is deleted and fetched
again.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request
from pathlib import Path

from zarr_cryoet.util.files import cache_root, write_atomically

DEFAULT_INDEX = "https://pypi.org/simple"


class SdistError(Exception):
    """An sdist that cannot be found on the package index or does not match the index's hash."""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def sha256_of(path_or_data) -> str:
    data = path_or_data if isinstance(path_or_data, bytes) else Path(path_or_data).read_bytes()
    return hashlib.sha256(data).hexdigest()


def index_urls() -> list[str]:
    """pip's package indexes as ``pip download`` sees them: index-url first, then extra-index-url."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    values = {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            try:
                values[key.strip()] = str(ast.literal_eval(value.strip()))
            except (ValueError, SyntaxError):
                values[key.strip()] = value.strip()

    def option(name: str) -> str:  # pip's precedence: environment, then the command's section, then global
        return next((values[f"{section}.{name}"] for section in (":env:", "download", "global")
                     if f"{section}.{name}" in values), "")

    return [option("index-url") or DEFAULT_INDEX, *option("extra-index-url").split()]


def _read(url: str, timeout: float = 120) -> tuple[bytes, str]:
    request = urllib.request.Request(url, headers={
        "Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.read(), answer.headers.get("Content-Type", "")


def index_sdist(project: str, filename: str) -> tuple[str, str]:
    """(URL, sha256) of ``filename`` as the first of pip's indexes that lists it publishes them."""
    asked = []
    for index in index_urls():
        page = f"{index.rstrip('/')}/{project}/"
        if page.startswith("file:"):
            page += "index.html"
        try:
            body, content_type = _read(page)
        except (OSError, ValueError) as err:
            asked.append(f"{index} ({getattr(err, 'reason', err)})")
            continue
        if "json" in content_type:
            links = [(f["url"], f.get("hashes", {}).get("sha256")) for f in json.loads(body)["files"]
                     if f["filename"] == filename]
        else:
            links = [(href, dict(re.findall(r"(\w+)=(\w+)", urllib.parse.urldefrag(href).fragment)).get("sha256"))
                     for href in re.findall(r'href="([^"]+)"', body.decode("utf-8", "replace"))
                     if urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1] == filename]
        for url, sha256 in links:
            if not sha256:
                raise SdistError(f"{index} lists {filename} without a sha256; use an index that publishes hashes")
            return urllib.parse.urljoin(page, urllib.parse.urldefrag(url).url), sha256
        asked.append(index)
    raise SdistError(f"{filename} is on none of pip's indexes ({', '.join(asked)}); check `pip config list`")


def download_sdist(version: str, cache: Path | None = None) -> Path:
    """zarr-<version>.tar.gz, from the cache if it still matches the index's sha256, else from the index."""
    cache = Path(cache) if cache is not None else cache_root() / "sdists"
    target = cache / f"zarr-{version}.tar.gz"
    record = target.with_name(target.name + ".sha256")
    if target.is_file() and record.is_file() and sha256_of(target) == record.read_text().strip():
        return target
    record.unlink(missing_ok=True)  # missing, unrecorded or changed: fetched again
    target.unlink(missing_ok=True)
    url, expected = index_sdist("zarr", target.name)
    data, _ = _read(url)
    if sha256_of(data) != expected:
        raise SdistError(f"{url} does not match the sha256 its package index gives ({expected}); not used")
    write_atomically(target, data)
    write_atomically(record, expected + "\n")  # last: a file without its hash is never used
    return target


def make_zarr_repo(path: Path, versions: list[str], cache: Path | None = None, branch: str = "main") -> list[str]:
    """A git repository at ``path`` with one tagged commit per version; the commit hashes, oldest first."""
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch", branch)
    hashes = []
    for version in versions:
        for child in path.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        with tarfile.open(download_sdist(version, cache)) as sdist:
            # the "data" filter (no absolute paths, links out of the tree or special files) from Python 3.11.4 on;
            # Debian 12's 3.11.2 has no filters: a sdist from the package index, extracted as before
            sdist.extractall(path, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        top = path / f"zarr-{version}"
        for child in top.iterdir():
            child.rename(path / child.name)
        top.rmdir()
        git(path, "add", "--all")
        git(path, "-c", "user.name=zarr", "-c", "user.email=zarr@example.org", "commit", "--quiet",
            "-m", f"zarr {version}")
        git(path, "tag", f"v{version}")
        hashes.append(git(path, "rev-parse", "HEAD"))
    return hashes

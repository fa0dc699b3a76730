"""A local stand-in for zarr-python's git repository, made from released sdists.

Machines here cannot clone GitHub, so the upstream-tracking tests benchmark a
repository with one commit per zarr release, each tagged ``v<version>`` the
way zarr tags its releases (setuptools-scm / hatch-vcs read the version from
the tag when asv builds a commit).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def download_sdist(version: str, cache: Path) -> Path:
    """zarr-<version>.tar.gz from the package index (kept in ``cache``)."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"zarr-{version}.tar.gz"
    if not target.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
                        ":all:", f"zarr=={version}", "-d", str(cache)], check=True)
    return target


def make_zarr_repo(path: Path, versions: list[str], cache: Path, branch: str = "main") -> list[str]:
    """A git repository at ``path`` with one tagged commit per version; the commit hashes, oldest first."""
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch", branch)
    hashes = []
    for version in versions:
        for child in path.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        with tarfile.open(download_sdist(version, cache)) as sdist:
            sdist.extractall(path, filter="data")
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

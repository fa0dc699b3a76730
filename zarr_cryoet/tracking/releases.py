"""Follow zarr's newest release: ask the package index, and add an asv environment for it.

The release matrix in asv.conf.json pins the zarr versions that are compared
night after night. So that a new zarr release shows up the night after it is
published, without anyone editing the config, the nightly job asks pip for the
newest zarr release that installs on the matrix's newest Python and, when that
release is not in the matrix yet, benchmarks it in one more environment.
Pin it in asv.conf.json to keep it once a later release supersedes it.
"""

from __future__ import annotations

import re
import subprocess
import sys

from packaging.version import InvalidVersion, Version

from zarr_cryoet.util.errors import ZarrCryoetError
from zarr_cryoet.asv import config as asv_config


class ReleaseLookupError(ZarrCryoetError):
    """The package index could not say which zarr release is the newest."""


def newest_release(package: str = "zarr", python: str | None = None, timeout: float = 120) -> str:
    """The newest release of ``package`` that supports ``python`` ("3.13"), from pip's configured index.

    Uses ``pip index versions``, so pip's configuration (index URL, mirrors,
    proxies, ``PIP_INDEX_URL``) applies exactly as it does when asv installs.
    """
    cmd = [sys.executable, "-m", "pip", "index", "versions", package, "--disable-pip-version-check"]
    if python:
        cmd += ["--python-version", python, "--only-binary", ":all:"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ReleaseLookupError(f"pip index versions {package} took more than {timeout:.0f} s; "
                                 "check the package index (pip config list)") from None
    match = re.search(rf"^{re.escape(package)} \(([^)]+)\)", proc.stdout, flags=re.M | re.I)
    if proc.returncode != 0 or not match:
        reason = (proc.stderr.strip().splitlines() or ["no versions listed"])[-1]
        raise ReleaseLookupError(f"could not list {package} releases from the package index: {reason}")
    return match.group(1)


def matrix_versions(conf: dict, package: str = "zarr") -> set[str]:
    """Every version of ``package`` that the asv config benchmarks (matrix, include and exclude rules)."""
    return {version for _, version in asv_config.environments(conf, package) if version}


def newest_python(conf: dict) -> str:
    """The newest Python that has an environment in the asv config."""
    return asv_config.pythons(conf)[-1]


def follow_newest(conf: dict, newest: str, package: str = "zarr") -> str | None:
    """Add an environment for ``newest`` to ``conf`` (in place) unless the matrix has it or newer.

    Returns the added version, or None.
    """
    try:
        known = [Version(v) for v in matrix_versions(conf, package)]
        if known and Version(newest) <= max(known):
            return None
    except InvalidVersion:
        return None
    conf.setdefault("include", []).append({"python": newest_python(conf), "req": {package: newest}})
    return newest

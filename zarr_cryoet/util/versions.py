"""The one order of version strings (zarr, Python) in the project."""

import re


def version_key(version: str) -> tuple:
    """The one sort key for versions of zarr and Python, everywhere in the project: "3.9" < "3.11" < "3.11.2"
    (the numbers of the release part; a suffix such as ".dev3+g1234" or "rc1" is ignored, "" sorts first)."""
    release = re.match(r"[0-9]+(?:\.[0-9]+)*", str(version).strip())
    return tuple(int(part) for part in release.group(0).split(".")) if release else ()

"""Two rules about files that every part of the project follows, kept in one place.

* **Cache roots.** Everything this project caches outside the checkout (portal crops,
  npm packages of the offline dashboard, zarr sdists for the tests, the Python built
  from source, generated phantoms) lives under one directory:
  ``$ZARR_CRYOET_CACHE``, else ``$XDG_CACHE_HOME/zarr-cryoet``, else
  ``~/.cache/zarr-cryoet`` (:func:`cache_root`).
* **Atomic writes.** A file is written to a temporary name in its own directory and
  renamed over the target (:func:`write_atomically`), so a reader (or a run killed
  half-way) sees the old file or the new one, never a truncated one.

Standard library only: ``tools/`` and ``tasks.py`` import this before any virtual
environment exists.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CACHE_ENV = "ZARR_CRYOET_CACHE"


def cache_root() -> Path:
    """The project's cache directory (not created)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "zarr-cryoet"


def write_atomically(path, data: bytes | str) -> Path:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` all at once; parent directories are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the mode a plain open() would
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

"""Find (or, on Debian, build) the Python interpreters the asv matrix needs.

asv and nox find ``python3.13`` by looking it up on ``PATH``. On these machines
newer interpreters are often installed but not on ``PATH`` (pyenv versions whose
shims refuse to run, ``/usr/bin/python3.13`` on Debian 13). :func:`provide`
looks in the usual places, and on a Debian machine without one it builds
CPython from Debian's source package once into the project's cache directory
(``zarr_cryoet.util.files.cache_root()``, by default ``~/.cache/zarr-cryoet``). It then
puts a ``pythonX.Y`` link into :data:`BIN_DIR`, which the caller prepends to
``PATH`` for asv and nox.

Standard library only: this runs before any virtual environment exists (it imports
zarr_cryoet.util.files, which is stdlib-only, from this checkout).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))
from zarr_cryoet.util.files import cache_root  # noqa: E402

CACHE_DIR = cache_root()
BIN_DIR = CACHE_DIR / "bin"
_APT_SOURCE = Path("/etc/apt/sources.list.d/zarr-cryoet-trixie-src.sources")
_DEBIAN_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")


class InterpreterUnavailable(Exception):
    """No interpreter of the wanted version could be found or built."""


def _works(executable: str | Path, version: str) -> bool:
    """True if ``executable`` runs and reports ``version`` (e.g. ``"3.13"``)."""
    try:
        out = subprocess.run(
            [str(executable), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


def _candidates(version: str):
    name = f"python{version}"
    yield BIN_DIR / name
    on_path = shutil.which(name)
    if on_path:
        yield Path(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv"
    yield from sorted(
        (Path(p) for p in glob.glob(f"{pyenv_root}/versions/{version}.*/bin/{name}")), reverse=True
    )
    yield Path("/usr/bin") / name
    yield Path("/usr/local/bin") / name
    yield CACHE_DIR / f"cpython-{version}" / "bin" / name


def find(version: str) -> Path | None:
    """The first working interpreter of ``version`` in the usual places, or None."""
    for candidate in _candidates(version):
        if candidate.exists() and _works(candidate, version):
            return candidate.resolve()
    return None


def provide(version: str, *, build: bool = True, log=print) -> Path:
    """Return a directory whose ``python{version}`` runs that interpreter.

    Raises :class:`InterpreterUnavailable` with a one-line reason if there is
    none and it cannot be built here.
    """
    found = find(version)
    if found is None:
        if not build:
            raise InterpreterUnavailable(f"no Python {version} found")
        found = build_from_debian_source(version, log=log)
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    link = BIN_DIR / f"python{version}"
    if not (link.is_symlink() and link.resolve() == found):
        tmp = BIN_DIR / f".python{version}.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(found)
        tmp.replace(link)  # atomic: a concurrent run never sees a missing link
    return BIN_DIR


def build_from_debian_source(version: str, *, log=print) -> Path:
    """Build CPython ``version`` from Debian trixie's source package into the cache (about 2 minutes).

    Needs root, apt and a compiler; the temporary apt source is removed again.
    """
    prefix = CACHE_DIR / f"cpython-{version}"
    if os.geteuid() != 0 or not shutil.which("apt-get") or not _DEBIAN_SOURCES.exists():
        raise InterpreterUnavailable(
            f"no Python {version} found and it can only be built automatically as root on Debian; "
            f"install python{version} and put it on PATH"
        )
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    build_log = CACHE_DIR / f"build-python{version}.log"
    log(f"No Python {version} found: building it once from Debian's source package into {prefix} "
        f"(about 2 minutes; log: {build_log}) ...")
    with tempfile.TemporaryDirectory(prefix="zarr-cryoet-cpython-") as work, open(build_log, "w") as out:
        def run(cmd, cwd=work):
            subprocess.run(cmd, cwd=cwd, check=True, stdout=out, stderr=subprocess.STDOUT)

        try:
            _add_trixie_source()
            run(["apt-get", "update"])
            run(["apt-get", "source", f"python{version}"])
            src = next(p for p in Path(work).iterdir() if p.is_dir() and p.name.startswith(f"python{version}"))
            run(["./configure", f"--prefix={prefix}", "--without-ensurepip"], src)
            run(["make", f"-j{os.cpu_count() or 2}"], src)
            run(["make", "install"], src)
        except (subprocess.CalledProcessError, StopIteration, OSError) as err:
            shutil.rmtree(prefix, ignore_errors=True)
            raise InterpreterUnavailable(
                f"building Python {version} failed ({err}); see {build_log}"
            ) from None
        finally:
            if _APT_SOURCE.exists():
                _APT_SOURCE.unlink()
                subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
    executable = prefix / "bin" / f"python{version}"
    if not _works(executable, version):
        shutil.rmtree(prefix, ignore_errors=True)
        raise InterpreterUnavailable(f"the Python {version} built from source does not run")
    return executable


def _add_trixie_source() -> None:
    """A deb-src entry for trixie with the same URI and keyring as the machine's main Debian source."""
    uri, keyring = "http://deb.debian.org/debian", "/usr/share/keyrings/debian-archive-keyring.gpg"
    for line in _DEBIAN_SOURCES.read_text().splitlines():
        key, _, value = line.partition(":")
        if key == "URIs" and value.strip().endswith("/debian"):
            uri = value.strip()
        elif key == "Signed-By":
            keyring = value.strip()
    _APT_SOURCE.write_text(
        f"Types: deb-src\nURIs: {uri}\nSuites: trixie\nComponents: main\nSigned-By: {keyring}\n"
    )


if __name__ == "__main__":  # python3 tools/interpreters.py 3.13 [--no-build]
    try:
        print(provide(sys.argv[1], build="--no-build" not in sys.argv[2:]))
    except InterpreterUnavailable as err:
        sys.exit(f"error: {err}")

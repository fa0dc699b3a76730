"""Install the pinned engines into this Python environment, where its zarr can use them.

``python -m zarr_cryoet.engines.install [--optional]`` is the last step of asv's install
command (asv.conf.json): an environment whose zarr is 3.1 or newer gets the zarrs codec
pipeline and tensorstore at :data:`~zarr_cryoet.engines.PINNED` (and on Python >= 3.12 the conversion tier's
ome-zarr and dask.distributed, :data:`~zarr_cryoet.engines.CONVERSION_PINNED`), with its zarr held where
the matrix put it; a zarr 2 environment stays as it is (only zarr-python runs there, and
the other engines' benchmarks are skipped with a reason). The environments' names stay
those of the zarr matrix, so the zarr-python history continues across this change.
``--optional`` (the upstream config, whose development zarr may be too new for a
released zarrs) reports a failed install instead of failing the environment.
"""

from __future__ import annotations

import re
import subprocess
import sys

from . import CONVERSION_MIN_PYTHON, CONVERSION_PINNED, PINNED
from .base import distribution_version

#: the oldest zarr the zarrs pipeline supports (and the suite runs tensorstore with)
MIN_ZARR = (3, 1)


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0])[:2])


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    optional = "--optional" in args
    zarr_version = distribution_version("zarr")
    if zarr_version is None or _release(zarr_version) < MIN_ZARR:
        print(f"[engines] zarr {zarr_version}: only zarr-python runs here; not installing "
              f"{', '.join(PINNED)} (they need zarr >= {'.'.join(map(str, MIN_ZARR))})")
        return 0
    pinned = dict(PINNED)
    if sys.version_info[:2] >= CONVERSION_MIN_PYTHON:
        pinned.update(CONVERSION_PINNED)
    else:
        print(f"[engines] Python {sys.version_info.major}.{sys.version_info.minor}: not installing "
              f"{', '.join(CONVERSION_PINNED)} (the conversion tier's ome-zarr needs Python >= 3.12)")
    wanted = [f"{name}=={version}" for name, version in pinned.items()]
    command = [sys.executable, "-m", "pip", "install", f"zarr=={zarr_version}", *wanted]
    print(f"[engines] zarr {zarr_version}: installing {' '.join(wanted)}", flush=True)
    done = subprocess.run(command)
    if done.returncode != 0:
        print(f"[engines] could not install {' '.join(wanted)} next to zarr {zarr_version}"
              + ("; their benchmarks will be skipped" if optional else ""), file=sys.stderr)
        return 0 if optional else done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())

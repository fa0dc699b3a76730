"""The (python, zarr) pairs of the asv matrix, read from asv.conf.json.

asv.conf.json is the single source of truth for which zarr versions are
benchmarked; the test runner (noxfile.py) and the launcher (tasks.py) read it
here so the tests run under exactly the benchmarked versions. The reading
itself is :mod:`zarr_cryoet.asv.config` (shared with the nightly job);
this module keeps the names tasks.py, noxfile.py and the tests use. Standard
library only.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # zarr_cryoet's stdlib-only modules, before any virtual environment exists
    sys.path.insert(0, str(ROOT))

from zarr_cryoet.asv import config as asv_config  # noqa: E402
from zarr_cryoet.asv.config import CI_BENCH, DEFAULT_BENCH, cpu_affinity  # noqa: E402,F401

ASV_CONF = ROOT / "asv.conf.json"
#: installed with ``pip install --no-deps`` in .venv and the test sessions: Apache Otava's change-point analysis
#: (zarr_cryoet/tracking/change_points.py) needs numpy and scipy only, while the package pins numpy 2.2.* and
#: scipy < 1.17 and brings clients for BigQuery, Postgres and Slack
WITHOUT_DEPENDENCIES = ("apache-otava==0.8.0",)


def load_asv_conf(path: Path = ASV_CONF) -> dict:
    """asv.conf.json as a dict (asv allows ``//`` comment lines; JSON does not)."""
    return asv_config.load(path)


def zarr_matrix(path: Path = ASV_CONF) -> list[tuple[str, str]]:
    """Every (python, zarr version) environment asv builds, in config order."""
    return asv_config.environments(asv_config.load(path))


def pythons(path: Path = ASV_CONF) -> list[str]:
    """The distinct Python versions of the matrix, oldest first."""
    return asv_config.pythons(asv_config.load(path))


def backfill_jobs(config: Path, shards: int) -> list[dict]:
    """The backfill workflow's job matrix: every environment of ``config``'s matrix × shards 1..``shards``."""
    jobs = []
    for python, zarr in asv_config.environments(asv_config.load(config)):
        for i in range(1, shards + 1):
            jobs.append({"python": python, "zarr": zarr or "", "shard": f"{i}/{shards}",
                         "name": f"py{python}-zarr{zarr or 'commit'}-{i}of{shards}"})
    return jobs


if __name__ == "__main__":  # python3 tools/matrix.py --backfill CONFIG SHARDS: a GitHub Actions output line
    import json

    if len(sys.argv) != 4 or sys.argv[1] != "--backfill" or not sys.argv[3].isdigit():
        sys.exit("usage: python3 tools/matrix.py --backfill CONFIG SHARDS")
    print("matrix=" + json.dumps(backfill_jobs(ROOT / sys.argv[2], int(sys.argv[3]))))

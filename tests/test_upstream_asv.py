"""asv.upstream.conf.json, the config that follows zarr-python's own commits, against a local zarr repository.

It checks no timings, so it runs in the ``asv`` session, beside the pytest sessions (the nightly job's
timing tests, tests/test_nightly_asv.py, run alone).
"""

import json
import math
import os
import subprocess
import sys

import pytest

from tests.asv_helpers import ROOT, matrix
from tests.zarr_repo import make_zarr_repo

pytestmark = pytest.mark.asv

MACHINE = "zarr-cryoet-upstream-test"


def test_upstream_config_benchmarks_zarr_commits(tmp_path):
    """asv.upstream.conf.json against a local zarr repository made from the released 2.18.7 and 3.1.6 sdists
    (cached, and checked against the package index's sha256 at every use: tests/zarr_repo.py): both commits
    benchmarked, each with its own zarr."""
    zarr_repo = tmp_path / "zarr-python"
    hashes = make_zarr_repo(zarr_repo, ["2.18.7", "3.1.6"])  # sdists cached, checked against the index's sha256
    conf = matrix.load_asv_conf(ROOT / "asv.upstream.conf.json")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"  # zarr 2.18.7 and 3.1.6 both run on it
    conf.update(pythons=[python], repo=str(zarr_repo), benchmark_dir=str(ROOT / "benchmarks"),
                env_dir=str(tmp_path / "env"), results_dir=str(tmp_path / "results"), html_dir=str(tmp_path / "html"))
    conf["install_command"] = [c.replace("{conf_dir}", str(ROOT)) for c in conf["install_command"]]
    conf_path = tmp_path / "asv.upstream.conf.json"
    conf_path.write_text(json.dumps(conf, indent=2))
    # the full grid: compression on format 3 too, which only the newer zarr can write
    env = {**os.environ, "ZARR_CRYOET_SOURCE": "phantom:64", "ZARR_CRYOET_FULL": "1"}
    asv = [sys.executable, "-m", "asv", "--config", str(conf_path)]
    subprocess.run([*asv, "machine", "--yes", "--machine", MACHINE], check=True, capture_output=True)
    # the backfill command docs/nightly.md gives, over the whole (two-commit) history
    run = subprocess.run([*asv, "run", "--quick", "--show-stderr", "--machine", MACHINE, "--bench",
                          r"compression\.Read\.time_read\(.*'none'", "main"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=1200)
    print(run.stdout[-5000:], run.stderr[-3000:])
    assert run.returncode == 0
    values = {}
    for path in (tmp_path / "results" / MACHINE).glob("*-virtualenv-*.json"):
        result = json.loads(path.read_text())
        values[result["commit_hash"]] = result["results"]["compression.Read.time_read"][0]
    assert set(values) == set(hashes)
    # each commit got its own zarr: 2.18.7 cannot write format 3 (skipped: NaN), 3.1.6 can
    (old_v2, old_v3), (new_v2, new_v3) = values[hashes[0]][:2], values[hashes[1]][:2]  # codec 'none'
    assert old_v2 > 0 and math.isnan(old_v3) and new_v2 > 0 and new_v3 > 0, values

    # the nightly job on the upstream config: nothing new to run, published, no regression
    proc = subprocess.run([sys.executable, "-m", "zarr_cryoet.cli", "nightly", "--config", str(conf_path),
                           "--machine", MACHINE, "--results-branch", ""], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    print(proc.stdout[-3000:], proc.stderr[-2000:])
    assert proc.returncode == 0
    assert "Benchmarked: none" in (tmp_path / "nightly" / "latest.md").read_text()
    assert (tmp_path / "html" / "index.html").is_file()

"""Same outputs: what the package writes from the recorded results is what the code at ``BEFORE`` wrote.

Issue 31 rearranged the package into layers without changing a result. This test keeps that promise checkable:
it runs the report, the answers and the counts table from ``recorded/`` twice, once with the package as it was
at ``BEFORE`` (from git) and once with the working tree, and compares every CSV and text byte for byte and every
figure pixel for pixel. Move ``BEFORE`` forward in the commit that changes an output on purpose, and say so there.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.once

#: the last commit that changed an output on purpose (issue 32: the conversion, cost and multiscale lines, the portal-size
#: figures, 256³ and format 3 at portal size; issue 31 compared against f1ed20e, the last before the layered package)
BEFORE = "05b232c"

#: (name, arguments of zarr-cryoet): each command's standard output is compared, and the files it writes under
#: {out}; together they cover every table and figure of the report, the recommend answers and the counts table
COMMANDS = [
    ("report", ["report", "--results", "recorded/results", "--counts", "recorded/counts", "--out", "{out}/report"]),
    ("recommend", ["recommend", "--results", "recorded/results"]),
    ("recommend-128", ["recommend", "--results", "recorded/results", "--shape", "128,128,128"]),
    ("recommend-scaled", ["recommend", "--results", "recorded/results", "--shape", "400,1000,1000",
                          "--use", "viewer,training"]),
    ("instructions", ["instructions", "--counts", "recorded/counts"]),
]


#: runs every command in one interpreter (one import of the package and of matplotlib, not five); argv: the
#: output directory, then the commands as JSON
DRIVER = """
import contextlib, io, json, sys
from zarr_cryoet.cli import main
out, commands = sys.argv[1], json.loads(sys.argv[2])
for name, argv in commands:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main([a.format(out=out) for a in argv])
    if status:
        sys.exit(f"{name} exited with {status}")
    with open(f"{out}/{name}.stdout", "w") as f:
        f.write(printed.getvalue().replace(out, "{out}"))
"""


def write_outputs(package_root: Path, out: Path) -> None:
    """Run every command with ``zarr_cryoet`` imported from ``package_root``; outputs under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(package_root), MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, "-c", DRIVER, str(out), json.dumps(COMMANDS)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"at {package_root}: {done.stderr[-2000:]}"


def package_at(commit: str, where: Path) -> Path:
    """``zarr_cryoet`` as it was at ``commit``, unpacked under ``where``."""
    where.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit, "zarr_cryoet"], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)
    return where


def files_under(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_output_is_what_it_was_before(tmp_path):
    if subprocess.run(["git", "cat-file", "-e", f"{BEFORE}^{{commit}}"], cwd=REPO).returncode:
        pytest.skip(f"commit {BEFORE} is not in this clone (a shallow clone?)")
    from matplotlib.image import imread

    write_outputs(package_at(BEFORE, tmp_path / "before-package"), tmp_path / "before")
    write_outputs(REPO, tmp_path / "after")
    before, after = files_under(tmp_path / "before"), files_under(tmp_path / "after")
    assert sorted(after) == sorted(before)
    assert any(name.endswith(".csv") for name in before) and any(name.endswith(".png") for name in before)
    for name, path in before.items():
        if name.endswith(".png"):
            old, new = imread(path), imread(after[name])
            assert old.shape == new.shape and np.array_equal(old, new), f"{name}: the figure's pixels differ"
        else:
            assert after[name].read_bytes() == path.read_bytes(), f"{name} differs from {BEFORE}'s"

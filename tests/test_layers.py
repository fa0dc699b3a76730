"""The package's layers import only downward (setup.cfg's import-linter contract, docs/layout.md)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(where: Path) -> subprocess.CompletedProcess:
    """import-linter's contract of setup.cfg over the package under ``where`` (its own copy comes first)."""
    code = "import sys; sys.path.insert(0, '.'); from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run([sys.executable, "-c", code, "--config", "setup.cfg", "--no-cache"], cwd=where,
                          capture_output=True, text=True, timeout=300)


def test_every_layer_imports_only_the_layers_below_it():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 kept, 0 broken" in done.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "zarr_cryoet", tmp_path / "zarr_cryoet", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.cfg", tmp_path)
    planted = tmp_path / "zarr_cryoet" / "store" / "stores.py"
    planted.write_text(planted.read_text() + "\nfrom zarr_cryoet.report import style  # noqa: E402,F401\n")
    done = lint_imports(tmp_path)
    assert done.returncode == 1
    assert "zarr_cryoet.store is not allowed to import zarr_cryoet.report" in done.stdout
    assert "zarr_cryoet.store.stores -> zarr_cryoet.report.style" in done.stdout

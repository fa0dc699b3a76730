"""The stdlib helpers behind tasks.py: the matrix and the interpreter finder."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import interpreters  # noqa: E402
import matrix  # noqa: E402


def test_matrix_is_read_from_asv_conf():
    pairs = matrix.zarr_matrix()
    assert ("3.11", "2.18.7") in pairs and ("3.11", "3.1.6") in pairs
    assert [z for _, z in pairs if z.startswith("3.4")], "the newest zarr (3.4.x) is benchmarked"
    assert all(py >= "3.12" for py, z in pairs if z.startswith("3.4"))


def test_exclude_rules_are_honoured(tmp_path):
    conf = tmp_path / "asv.conf.json"
    conf.write_text('{\n // comment\n "pythons": ["3.11", "3.12"], "matrix": {"req": {"zarr": ["2.18.7", "3.1.6"]}},'
                    ' "exclude": [{"python": "3.12", "req": {"zarr": "2.18.7"}}],'
                    ' "include": [{"python": "3.13", "req": {"zarr": "3.4.2"}}]}')
    assert matrix.zarr_matrix(conf) == [("3.11", "2.18.7"), ("3.11", "3.1.6"), ("3.12", "3.1.6"),
                                        ("3.13", "3.4.2")]


def test_finds_the_running_interpreter_version():
    version = "%d.%d" % sys.version_info[:2]
    found = interpreters.find(version)
    assert found is not None and interpreters._works(found, version)


def test_a_version_that_does_not_exist_is_not_found():
    assert interpreters.find("2.1") is None


def test_every_cache_follows_one_rule(tmp_path):
    """Crops, npm packages, sdists and the Python built from source all live under files.cache_root()."""
    import os
    import subprocess

    root = Path(__file__).resolve().parent.parent
    code = ("import sys; sys.path.insert(0, 'tools'); import interpreters; "
            "from zarr_cryoet.data import crop_cache; from zarr_cryoet.tracking import dashboard_assets; "
            "print(interpreters.CACHE_DIR, interpreters.BIN_DIR, crop_cache.cache_root(), dashboard_assets.cache_dir())")
    for env, expected in [({"ZARR_CRYOET_CACHE": str(tmp_path / "c"), "XDG_CACHE_HOME": str(tmp_path / "x")},
                           tmp_path / "c"),
                          ({"XDG_CACHE_HOME": str(tmp_path / "x")}, tmp_path / "x" / "zarr-cryoet"),
                          ({"HOME": str(tmp_path / "home")}, tmp_path / "home" / ".cache" / "zarr-cryoet")]:
        clean = {k: v for k, v in os.environ.items() if k not in ("ZARR_CRYOET_CACHE", "XDG_CACHE_HOME")}
        out = subprocess.run([sys.executable, "-c", code], cwd=root, env={**clean, **env}, capture_output=True,
                             text=True, check=True).stdout.split()
        assert out == [str(expected), str(expected / "bin"), str(expected / "crops"), str(expected / "npm")], env

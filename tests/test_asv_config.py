"""zarr_cryoet.asv.config: the one reader of asv.conf.json, checked against asv's own matrix."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from zarr_cryoet.asv import config as asv_config

ROOT = Path(__file__).resolve().parent.parent


def asv_environments(conf: dict, tmp_path: Path, package: str = "zarr") -> list[tuple[str, str | None]]:
    """What asv itself makes of ``conf``: (python, version of package) per environment, without repeats."""
    from asv import environment
    from asv.config import Config

    path = tmp_path / "asv.conf.json"
    path.write_text(json.dumps({"version": 1, "repo": ".", "environment_type": "virtualenv", **conf}))
    found = []
    for combo in environment.iter_matrix("virtualenv", Config.load(str(path)).pythons, Config.load(str(path))):
        found.append((combo[("python", None)], combo.get(("req", package))))
    return list(dict.fromkeys(found))


CONFIGS = [
    {"pythons": ["3.11"], "matrix": {"req": {"zarr": ["2.18.7", "3.1.6"]}},
     "include": [{"python": "3.13", "req": {"zarr": "3.4.2"}}]},
    # regexes match whole values; includes are not subject to excludes
    {"pythons": ["3.11", "3.12"], "matrix": {"req": {"zarr": ["2.18.7", "3.1.6", "3.10.0"], "numpy": ["1", "2"]}},
     "exclude": [{"python": "3.12", "req": {"zarr": "2\\..*"}}, {"req": {"zarr": "3.1"}}, {"req": {"numpy": "1"}}],
     "include": [{"python": "3.12", "req": {"zarr": "2.18.7"}}]},
    # asv's older flat matrix, a rule on the environment type, a platform-conditional include
    {"pythons": ["3.11"], "matrix": {"zarr": ["2.18.7"]}, "exclude": [{"environment_type": "conda"}],
     "include": [{"python": "3.13", "sys_platform": "nonesuch", "req": {"zarr": "3.4.2"}}]},
    # zarr not in the matrix (asv.upstream.conf.json): the version is None
    {"pythons": ["3.13"], "matrix": {}},
]


@pytest.mark.parametrize("conf", CONFIGS)
def test_environments_are_asvs(conf, tmp_path):
    assert asv_config.environments(conf) == asv_environments(conf, tmp_path)


def test_pythons_are_the_ones_with_environments_oldest_first():
    conf = {"pythons": ["3.13", "3.9", "3.11"], "matrix": {"req": {"zarr": ["3.1.6"]}},
            "exclude": [{"python": "3.13"}]}
    assert asv_config.pythons(conf) == ["3.9", "3.11"]


def test_the_repository_configs_load(tmp_path):
    conf = asv_config.load(ROOT / "asv.conf.json")
    assert asv_config.environments(conf) == asv_environments(conf, tmp_path)
    assert {z for _, z in asv_config.environments(conf)} >= {"2.18.7", "3.1.6"}
    upstream = asv_config.load(ROOT / "asv.upstream.conf.json")
    assert asv_config.environments(upstream) == [("3.13", None)]


def test_comment_lines_are_allowed_and_bad_json_is_a_value_error(tmp_path):
    path = tmp_path / "asv.conf.json"
    path.write_text('{\n  // a comment\n  "pythons": ["3.11"]\n}\n')
    assert asv_config.load(path) == {"pythons": ["3.11"]}
    path.write_text("{not json")
    with pytest.raises(ValueError):
        asv_config.load(path)


def test_tools_matrix_is_a_stdlib_only_wrapper():
    """tools/matrix.py runs on the bare python3 before .venv exists: no third-party import on the way."""
    code = ("import sys; sys.path.insert(0, 'tools'); import matrix; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'asv', 'zarr', 'requests', "
            "'packaging')); print(bad, matrix.DEFAULT_BENCH, len(matrix.CI_BENCH), matrix.pythons())")
    out = subprocess.run([sys.executable, "-I", "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.startswith(f"[] ^(?!(codec_sweep|instructions|object_storage\\.Concurrency)\\.) {len(asv_config.CI_BENCH)} ['3.11'"), out.stdout + out.stderr


def test_the_default_run_is_the_whole_machine_tier_and_two_halves_without_overlap():
    """tasks.py benchmark on two cores (tracking/both_cores.py): every benchmark of the default selection is in
    exactly one of the three steps; a new module goes to the second half; the halves are about as long."""
    import re

    recorded = json.loads((ROOT / "recorded" / "results" / "benchmarks.json").read_text())
    names = [n for n in recorded if n != "version"] + ["a_new_module.Read.time_read"]
    steps = (asv_config.WHOLE_MACHINE_BENCH, *asv_config.ONE_CORE_HALVES)
    for name in names:
        chosen = [bool(re.search(step, name)) for step in steps]
        assert sum(chosen) == (1 if re.search(asv_config.DEFAULT_BENCH, name) else 0), (name, chosen)
    assert re.search(asv_config.ONE_CORE_HALVES[1], "a_new_module.Read.time_read")
    for name in ("realistic.UseCases.time_read_viewer", "object_storage.Read.time_read_xy", "cold.Read.time_read_full",
                 "chunking.ReadEveryCore.time_read_full"):
        assert re.search(asv_config.WHOLE_MACHINE_BENCH, name)

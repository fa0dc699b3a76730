"""The (python, zarr) pairs of the asv matrix, read from asv.conf.json.

asv.conf.json is the single source of truth for which zarr versions are
benchmarked; the test runner (noxfile.py) and the launcher (tasks.py) read it
here so the tests run under exactly the benchmarked versions. Standard library
only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ASV_CONF = Path(__file__).resolve().parent.parent / "asv.conf.json"
#: asv --bench regex of the default run (tasks.py benchmark, the tests' asv run, and, in
#: zarr_cryoet/nightly.py, the nightly job): everything but the long codec sweep.
DEFAULT_BENCH = r"^(?!codec_sweep\.)"
#: asv --bench regexes of the tests' whole-matrix ``asv run --quick`` (tests/asv_helpers.py): every
#: benchmark of the default run on every zarr, with the two large grids (chunking: 10 chunkings x 2
#: formats; access: 5 x 2 x 6 patterns) cut to a corner that keeps every kind of case - plain and
#: sharded, format 2 and 3, a shard larger than the volume (skipped), a slice and a particle box.
#: asv starts a process per parameter combination, ~2 s each here; the full grids took CI from 17 to
#: 44 min. ``tasks.py benchmark`` and the nightly job run the whole grids.
CI_BENCH = [
    r"^(compression|limits)\.",
    r"^chunking\..*'(16x16x16|64x64x64|128x128x128|32x32x32/128x128x128|32x32x32/32x256x256)', [23]\)$",
    r"^access\..*'(64x64x64|32x32x32/128x128x128)', [23], '(xy|box32)'",
]


def load_asv_conf(path: Path = ASV_CONF) -> dict:
    """asv.conf.json as a dict (asv allows ``//`` comment lines; JSON does not)."""
    return json.loads(re.sub(r"^\s*//.*$", "", path.read_text(), flags=re.M))


def zarr_matrix(path: Path = ASV_CONF) -> list[tuple[str, str]]:
    """Every (python, zarr version) environment asv builds, in config order."""
    conf = load_asv_conf(path)
    pairs = [(py, z) for py in conf.get("pythons", []) for z in conf["matrix"]["req"]["zarr"]]
    pairs += [(rule["python"], rule["req"]["zarr"]) for rule in conf.get("include", [])]
    excluded = [(rule.get("python"), rule.get("req", {}).get("zarr")) for rule in conf.get("exclude", [])]
    return [(py, z) for py, z in pairs
            if not any(ep in (None, py) and ez in (None, z) for ep, ez in excluded)]


def pythons(path: Path = ASV_CONF) -> list[str]:
    """The distinct Python versions of the matrix."""
    return sorted({py for py, _ in zarr_matrix(path)})

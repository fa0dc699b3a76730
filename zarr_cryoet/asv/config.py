"""Reading asv.conf.json, in one place for everything that needs its matrix.

The launcher (tasks.py), the test runner (noxfile.py, through tools/matrix.py),
the tests' asv run and the nightly job all ask the same questions of an asv
config: which (python, zarr) environments does asv build, on which Pythons,
and which benchmarks does a default run select. They are answered here, the
way asv 0.6 answers them (``asv.environment.iter_matrix``): the product of
``pythons`` and ``matrix``, minus the ``exclude`` rules (regular expressions
that must match whole values), plus the ``include`` entries, which no
``exclude`` rule removes.

Standard library only: tools/ and tasks.py import this before any virtual
environment exists.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
from pathlib import Path

from zarr_cryoet.util.versions import version_key

#: asv --bench regex of the default run (tasks.py benchmark): everything but the long codec sweep, the
#: instruction counts (the nightly job's first alarm; every case of the one-core tier under valgrind takes about an
#: hour of one core here, docs/measurement.md: ``--bench instructions`` runs them) and the S3 concurrency sweep (a
#: one-off question, two minutes: ``--bench object_storage.Concurrency`` runs it).
DEFAULT_BENCH = r"^(?!(codec_sweep|instructions|object_storage\.Concurrency)\.)"
#: The default run on a machine of several cores, in two steps (tasks.py benchmark). First the tier that needs the
#: whole machine, alone: the reads on every core (portal-sized reads and writes, threads as a reader has them), the
#: reads from object storage (the S3 server runs on the cores the reader is not pinned to; its opt-in concurrency
#: sweep excepted, as in DEFAULT_BENCH), the conversion of a collection and the multiscale viewer on every core (dask's
#: worker processes; benchmarks/conversion.py) and the cold-cache reads (the page cache is the machine's: a read of the same
#: reference store on the other core would bring the dropped pages back: the drop's check then fails the sample, or
#: a read meant cold is partly warm):
WHOLE_MACHINE_BENCH = r"^(realistic|conversion|multiscale|object_storage(?!\.Concurrency\.)|cold|chunking\.ReadEveryCore)\."
#: then the rest, the one-core tier, as two asv runs at once, one per core (:mod:`zarr_cryoet.tracking.both_cores`),
#: in two halves of about equal run time (50 % and 50 % of the tier's benchmark time in a default run here); a
#: benchmark's environments stay in one half, so every release comparison is made on one core. What the other
#: core's half does to the timings was measured (tools/two_cores.py; docs/measurement.md, "Both cores").
ONE_CORE_HALVES = (
    r"^(engines|lossy)\.",
    r"^(?!(codec_sweep|instructions|realistic|conversion|multiscale|object_storage|cold|engines|lossy|chunking\.ReadEveryCore)\.)",
)
#: asv --bench regex of the nightly job: the default run and the instruction counts.
NIGHTLY_BENCH = r"^(?!(codec_sweep|object_storage\.Concurrency)\.)"
#: asv --bench regexes of the tests' whole-matrix ``asv run --quick`` (tests/asv_helpers.py): every
#: benchmark of the default run on every zarr, with the two large grids (chunking: 10 chunkings x 2
#: formats; access: 5 x 2 x 6 patterns) cut to a corner that keeps every kind of case - plain and
#: sharded, format 2 and 3, a shard larger than the volume (skipped), a slice and a particle box.
#: asv starts a process per parameter combination, ~2 s each here; the full grids took CI from 17 to
#: 44 min. ``tasks.py benchmark`` and the nightly job run the whole grids.
CI_BENCH = [
    r"^(compression|limits)\.",
    r"^chunking\..*'(16x16x16|64x64x64|128x128x128|32x32x32/128x128x128)', [23]\)$",
    r"^access\..*'(64x64x64|32x32x32/128x128x128)', [23], '(xy|box32)'",
    r"^process_state\..*'64x64x64', [23], 'xy'",
    # the realistic-size tier on a small volume in the tests (ZARR_CRYOET_REALISTIC_SHAPE): its history, every use
    # case on a plain and a sharded layout, and one read from S3
    r"^realistic\.(Write|Read)\.",
    r"^realistic\.UseCases\..*'(64x64x64|32x32x32/128x128x128)'\)$",
    r"^realistic\.UseCasesV3\..*'64x64x64'\)$",
    r"^realistic\.ObjectStorage\.time_read_xy\(.*'64x64x64', 'zarr-python\+obstore'\)$",
    r"^chunking\.ReadEveryCore\..*'64x64x64'\)$",
    # converting a small collection (ome-zarr, dask.distributed; zarr >= 3 on Python >= 3.12 only): the portal's layout
    # to local disk on one worker and to S3 on two, a sharded layout's traffic and reads, and the viewer's first view
    r"^conversion\.Convert\..*'256x256x256', 'blosc-lz4', '(local', 1|s3', 2)\)$",
    r"^conversion\.Traffic\..*'64x64x64/128x128x128', 'blosc-zstd'\)$",
    r"^conversion\.Reads\..*'64x64x64/128x128x128', 'blosc-zstd', 'viewer'\)$",
    r"^multiscale\.FirstView\..*'64x64x64/128x128x128', 'blosc-zstd', 's3'\)$",
    # every engine on a plain format-2 and a sharded format-3 layout (zarr's fused pipeline: its reads only, to keep
    # CI within its budget; tests/test_engines.py writes and reads over HTTP with it); interop on the same two layouts
    # (tests/test_engines.py checks it on every default layout)
    r"^engines\.Read\..*'(64x64x64|32x32x32/128x128x128)', [23]",
    r"^engines\.(Write|Memory|Requests|RemoteRead)\..*'(64x64x64|32x32x32/128x128x128)', [23], (?!'zarr-python-fused')",
    r"^engines\.Interop\..*'(64x64x64|32x32x32/128x128x128)', [23], ",
    # warm and cold page cache on one plain layout (the page-cache drop and its mincore check, for real)
    r"^cold\..*'64x64x64', 2, '(warm|cold)'\)$",
    # object storage: a plain and a sharded layout over S3, s3fs (every zarr) and obstore (zarr 3), and their traffic
    r"^object_storage\.Read\.time_read_xy\(.*'(64x64x64|32x32x32/128x128x128)', 'zarr-python\+(s3fs|obstore)'",
    r"^object_storage\.Traffic\.track_requests\(.*'64x64x64', 'zarr-python\+(s3fs|obstore)', 'xy'\)$",
    r"^object_storage\.ImageTraffic\..*'zarr-python\+s3fs'\)$",
    # lossless, gentle, coarse and whole-chunk lossy codecs, on both formats (zarr 3.1.6 stores float16 larger on 3)
    r"^lossy\..*'(blosc-zstd|bitround-4|float16|zfp-rate-1)', [23]\)$",
    # instructions counted by valgrind: one read the older way (two interpreter start-ups per case), and one case of
    # a class counted in one process (CI_COUNT_ONLY: a whole class takes minutes at 128³)
    r"^instructions\..*'full read 64x64x64'\)$",
    r"^instructions\.AccessRead\..*'64x64x64', 2, 'xy'\)$",
]
#: the cases the tests' asv run counts (:data:`zarr_cryoet.measure.class_counts.ONLY_ENV`): the one CI_BENCH selects
CI_COUNT_ONLY = r"'64x64x64', 2, 'xy'\)$"

#: asv --bench regexes of ``zarr-cryoet recommend --source`` (a focused run on one's own data) on a crop (``--size
#: 128``, up to :data:`FOCUSED_CROP_VOXELS`): the reads its use cases rank at 128³ on one core (chunking, HTTP) and
#: the storage and fidelity figures (codecs, lossy settings); no write timings, no engines, no portal-size volume.
FOCUSED_BENCH = [
    r"^chunking\.Read\.",
    r"^access\.RemoteRead\.",
    r"^compression\.Storage\.",
    r"^lossy\.(Storage|Fidelity|HalfMaps)\.",
]
#: ... and on a whole volume (``--size full``, the default) or any volume larger than :data:`FOCUSED_CROP_VOXELS`: the
#: use cases' reads on every core (benchmarks/realistic.py), plain chunks on both formats, and an ``s3://`` source's
#: own store read in place; nothing else (each other question would write the whole volume in many more layouts)
FOCUSED_WHOLE_BENCH = [r"^realistic\.(UseCases|UseCasesV3|InPlace)\."]
#: the largest crop (voxels) the one-core tier measures in a focused run (256³)
FOCUSED_CROP_VOXELS = 256 ** 3
#: set in a focused run's asv processes: benchmarks/realistic.py then builds only the use cases' stores
FOCUSED_ENV = "ZARR_CRYOET_FOCUSED"

_COMMENT_LINE = re.compile(r"^\s*//.*$", re.M)
_BARE_KEYS = ("python", "environment_type", "sys_platform")
_MATRIX_TYPES = ("req", "env", "env_nobuild")


def load(path) -> dict:
    """An asv config as a dict (asv allows ``//`` comment lines; JSON does not).

    Raises OSError when the file cannot be read and ValueError when it is not a JSON object.
    """
    conf = json.loads(_COMMENT_LINE.sub("", Path(path).read_text(encoding="utf-8")))
    if not isinstance(conf, dict):
        raise ValueError("the top level is not a JSON object")
    return conf


def _keyed(entry: dict, bare_keys=_BARE_KEYS) -> dict:
    """A matrix or rule as ``{(type, name): value}``, like asv's ``_parse_matrix``."""
    entry = dict(entry)
    keyed = {(key, None): entry.pop(key) for key in bare_keys if key in entry}
    if any(t in entry for t in _MATRIX_TYPES):
        for t in _MATRIX_TYPES:
            keyed.update({(t, name): value for name, value in (entry.pop(t, None) or {}).items()})
    else:  # asv's old flat style: every key is a requirement
        keyed.update({("req", name): value for name, value in entry.items()})
    return keyed


def _matches(target: dict, rule: dict) -> bool:
    """asv's ``match_rule``: every value of the rule is a regex matching the whole value (None: absent)."""
    for key, pattern in rule.items():
        value = target.get(key)
        if pattern is None:
            if value is not None:
                return False
        elif value is None:
            return False
        else:
            try:
                match = re.match(str(pattern), str(value))
            except re.error as err:
                raise ValueError(f"bad regular expression {pattern!r} in an exclude rule ({err})") from None
            if match is None or match.end() != len(str(value)):
                return False
    return True


def environments(conf: dict, package: str = "zarr") -> list[tuple[str, str | None]]:
    """Every (python, version of ``package``) environment asv builds, in asv's order, without repeats.

    The version is None where the environment does not pin ``package`` (e.g. asv.upstream.conf.json,
    where zarr is the benchmarked project itself).
    """
    platform = {("environment_type", None): conf.get("environment_type"), ("sys_platform", None): sys.platform}
    matrix = _keyed(conf.get("matrix") or {}, bare_keys=())
    keys = list(matrix)
    values = [value if isinstance(value, list) else [value] for value in matrix.values()]
    values = [[""] if value == [] else value for value in values]
    excludes = [_keyed(rule) for rule in conf.get("exclude") or []]
    found = []
    for python in conf.get("pythons", ["%d.%d" % sys.version_info[:2]]):
        for combination in itertools.product(*values):
            target = {("python", None): python, **dict(zip(keys, combination)), **platform}
            if not any(_matches(target, rule) for rule in excludes):
                found.append((python, target.get(("req", package))))
    for rule in conf.get("include") or []:
        include = _keyed(rule)
        if "python" not in rule:
            raise ValueError(f"include rule {rule} has no python; give every include entry a \"python\"")
        platform_rule = {key: include.pop(key) for key in platform if key in include}
        if _matches(platform, platform_rule):
            found.append((rule["python"], include.get(("req", package))))
    return list(dict.fromkeys(found))


#: asv's path settings, with asv's defaults (relative to the config's directory)
PATH_DEFAULTS = {"benchmark_dir": "benchmarks", "env_dir": "env", "results_dir": "results", "html_dir": "html"}
PATH_KEYS = tuple(PATH_DEFAULTS)


def is_url(value: str) -> bool:
    return "://" in value or value.startswith("git@")


def with_absolute_paths(conf: dict, conf_dir: Path, repo_base: Path | None = None) -> dict:
    """A copy of ``conf`` that works written anywhere: absolute paths (relative ones are relative to
    ``conf_dir``, the original config's directory; ``repo`` to ``repo_base``, default the same), and
    asv's ``{conf_dir}`` in the commands pointing at the original directory."""
    conf = dict(conf)
    conf_dir = Path(conf_dir)
    for key, default in PATH_DEFAULTS.items():
        value = conf.get(key, default)
        conf[key] = value if os.path.isabs(value) else str((conf_dir / value).resolve())
    repo = conf.get("repo", ".")
    conf["repo"] = repo if is_url(repo) or os.path.isabs(repo) else str(((repo_base or conf_dir) / repo).resolve())
    for key in ("build_command", "install_command", "uninstall_command"):
        if key in conf:
            conf[key] = [c.replace("{conf_dir}", str(conf_dir)) for c in conf[key]]
    return conf


def matrix_params(result) -> dict:
    """An asv result's environment as the matrix names it: its Python and its requirements (``zarr``), without the
    machine's description that asv also keeps in ``params``."""
    return {key: value for key, value in result.params.items() if key == "python" or key in result._requirements}


def env_label(params: dict, with_python: bool = True) -> str:
    """An asv environment as every table and report names it, from its matrix parameters: ``zarr 3.4.2 (Python
    3.13)``; other entries of the matrix after the zarr release; the Python left out with ``with_python=False``."""
    named = [f"{key} {value}" for key, value in sorted(params.items(), key=lambda kv: (kv[0] != "zarr", kv[0]))
             if value and key != "python"]
    python = params.get("python")
    return (", ".join(named) or "?") + (f" (Python {python})" if with_python and python else "")


def pythons(conf: dict) -> list[str]:
    """The distinct Python versions that have an environment, oldest first."""
    return sorted({python for python, _ in environments(conf)}, key=version_key)


def available_cores() -> list[int]:
    """The cores this process may use, in order (one, where the platform cannot say)."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]


def cpu_affinity(choice: str = "auto") -> list[str]:
    """asv's ``--cpu-affinity`` arguments: benchmarks pinned to one core, the last one unless told otherwise.

    ``auto``: the last core where there are several (asv's own process keeps the others), none
    on a single core; ``none``: no pinning; a number: that core. Used by ``tasks.py benchmark``
    and the nightly job alike, so their numbers are comparable.
    """
    if choice == "none" or not hasattr(os, "sched_getaffinity"):
        return []
    cores = available_cores()
    if choice == "auto":
        return ["--cpu-affinity", str(cores[-1])] if len(cores) > 1 else []
    if not choice.isdigit() or int(choice) not in cores:
        raise ValueError(f"--cpu {choice}: not one of this process's cores ({cores[0]}-{cores[-1]}); "
                         "pass a core number, auto or none")
    return ["--cpu-affinity", choice]


#: what every ``asv run`` of the suite passes (tasks.py benchmark, the nightly job, the focused run):
#: each round of every environment in turn (the environments' samples come from the same minutes), and
#: every sample kept, since the suite's statistic is computed from them (zarr_cryoet.stats.estimate)
RUN_ARGS = ["--interleave-rounds", "--record-samples"]


def setup_cache_root(env_dir) -> Path:
    """Where the suite keeps the setup caches an asv run reuses across rounds (benchmarks/common.py's
    ``built_once``): ``setup-cache/`` next to the environments directory ``env_dir``. Whoever runs asv
    removes it afterwards."""
    return Path(env_dir).parent / "setup-cache"

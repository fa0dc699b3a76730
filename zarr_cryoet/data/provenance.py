"""Where the data of a benchmark run came from, kept next to asv's results.

Every benchmark's first parameter, ``data``, is a label such as ``phantom 128³ float32``
(:meth:`~zarr_cryoet.data.sources.SourceRequest.identity`). The facts behind the label
(shape, dtype, voxel size, source, crop, checksum) are written by the benchmarks'
shared ``setup_cache`` into a provenance directory, one JSON file per label, and
the report reads shapes and sizes from there instead of parsing the label.

The directory is ``$ZARR_CRYOET_PROVENANCE_DIR`` when set (the launchers set it to
:func:`provenance_dir` of the results directory they run into), else
``$ASV_CONF_DIR/.asv/provenance`` (the default results directory's neighbour).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from zarr_cryoet.util.files import write_atomically

PROVENANCE_DIR_ENV = "ZARR_CRYOET_PROVENANCE_DIR"


def voxel_size_angstrom(record: dict | None) -> float | None:
    """The isotropic voxel size in Å of a provenance record, or None (unknown, or anisotropic).

    The phantom records one number; MRC and OME-Zarr readers record (z, y, x); the portal's
    metadata says ``voxel_spacing``. An FSC or a scale bar needs one number.
    """
    value = (record or {}).get("voxel_size") or (record or {}).get("voxel_spacing")
    if isinstance(value, (list, tuple)):
        value = value[0] if value and all(abs(v - value[0]) <= 1e-6 * abs(value[0]) for v in value) else None
    try:
        value = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return value if value and value > 0 else None


def provenance_dir(results_dir) -> Path:
    """The provenance directory that belongs to an asv results directory: its sibling ``provenance/``."""
    return Path(results_dir).resolve().parent / "provenance"


def _file_name(identity: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", identity.replace("³", "3")).strip("_") + ".json"


def recording_dir() -> Path | None:
    """Where this process records provenance, or None outside asv and without the variable."""
    if os.environ.get(PROVENANCE_DIR_ENV):
        return Path(os.environ[PROVENANCE_DIR_ENV])
    if os.environ.get("ASV_CONF_DIR"):
        return Path(os.environ["ASV_CONF_DIR"], ".asv", "provenance")
    return None


def record(provenance: dict, directory=None) -> Path | None:
    """Write ``provenance`` (it must hold ``identity``) as ``<directory>/<label>.json``; the path, or None."""
    directory = Path(directory) if directory is not None else recording_dir()
    if directory is None:
        return None
    path = directory / _file_name(provenance["identity"])
    write_atomically(path, json.dumps(provenance, indent=2, default=str) + "\n")
    return path


def lookup(results_dir, identity: str) -> dict | None:
    """The provenance recorded for the data label ``identity`` next to ``results_dir``, or None."""
    path = provenance_dir(results_dir) / _file_name(identity)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None

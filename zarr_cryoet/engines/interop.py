"""Can every engine read what every other engine wrote? Bit for bit, per layout.

:func:`check` writes the volume with each engine in each layout, reads every store back
with each engine and compares the voxels. A failure is a result, not an exception: the
table says which writer, reader and layout, and the first line of the error, so that an
incompatibility between libraries is reported rather than hidden.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from zarr_cryoet.util.errors import FormatUnavailableError, InvalidChunksError

from . import ENGINE_NAMES, get

#: what a (writer, reader, layout) cell can be
STATUSES = ("bit-exact", "differs", "unreadable", "unwritable", "skipped")


@dataclass(frozen=True)
class InteropResult:
    writer: str
    reader: str
    chunks: str  # the layout's chunking, as in benchmark parameters (``64x64x64``, ``32x32x32/128x128x128``)
    zarr_format: int
    status: str  # one of STATUSES
    mismatched_voxels: int | None  # voxels that differ (0 when bit-exact); None when nothing was compared
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


def mismatched_voxels(actual, expected: np.ndarray) -> int:
    """Voxels where ``actual`` differs from ``expected`` (every voxel if the shape or dtype differs)."""
    if actual.shape != expected.shape or actual.dtype != expected.dtype:
        return int(expected.size)
    # compare bit patterns, so NaNs and signed zeros count as what they are
    as_bits = np.dtype(f"u{expected.dtype.itemsize}")
    return int(np.count_nonzero(np.asarray(actual).view(as_bits) != expected.view(as_bits)))


def _write(writer, volume, layout, workdir: Path):
    engine = get(writer)
    reason = engine.unavailable(layout.zarr_format)
    if reason:
        return None, "skipped", reason
    try:
        with engine.session():
            return engine.write(workdir / f"{writer}_{layout.slug}", volume, layout), "", ""
    except (FormatUnavailableError, InvalidChunksError) as err:  # a layout this volume or zarr cannot have
        return None, "skipped", str(err)
    except Exception as err:  # noqa: BLE001 - a failed write is a finding for the table
        return None, "unwritable", _one_line(err)


def _read(reader, path: Path, volume, layout) -> tuple[str, int | None, str]:
    engine = get(reader)
    reason = engine.unavailable(layout.zarr_format)
    if reason:
        return "skipped", None, reason
    try:
        with engine.session():
            data = engine.open(path)[...]
    except Exception as err:  # noqa: BLE001 - an unreadable store is a finding for the table
        return "unreadable", None, _one_line(err)
    wrong = mismatched_voxels(data, volume)
    return ("bit-exact" if wrong == 0 else "differs"), wrong, ""


def check(volume: np.ndarray, layouts, workdir, engine_names=ENGINE_NAMES) -> list[InteropResult]:
    """Every writer x reader x layout of ``engine_names`` and ``layouts``, stores written under ``workdir``."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for layout in layouts:
        for writer in engine_names:
            path, write_status, detail = _write(writer, volume, layout, workdir)
            for reader in engine_names:
                if path is None:
                    status, wrong = write_status, None
                else:
                    status, wrong, detail = _read(reader, path, volume, layout)
                results.append(InteropResult(writer, reader, layout.spec, layout.zarr_format, status, wrong, detail))
    return results

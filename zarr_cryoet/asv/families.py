"""The benchmark families the report reads, one frozen description each.

Each family names its asv module (``benchmarks/<module>.py``), the benchmarks of it
the report uses and the CSV columns taken straight from them as
``(column, benchmark, factor applied to asv's value)``. This is the only place in
:mod:`zarr_cryoet.report` that spells a benchmark name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

__all__ = ["ACCESS", "CHUNKING", "COLD", "Cold", "OBJECT_STORAGE", "ObjectStorage", "COMPRESSION", "ENGINES", "Engines", "INSTRUCTIONS", "Instructions", "LIMITS", "LOSSY", "Lossy", "PROCESS_STATE", "REALISTIC", "Access", "Chunking",
           "Compression", "Family", "Limits", "ProcessState", "Realistic"]


@dataclass(frozen=True)
class Family:
    """What every family has: its asv module, and CSV columns that are a benchmark's value times a factor."""

    module: str
    #: (CSV column, name of the field holding the benchmark, factor applied to asv's value)
    COLUMNS: ClassVar[tuple[tuple[str, str, float], ...]] = ()

    @property
    def columns(self) -> tuple[tuple[str, str, float], ...]:
        """``(column, benchmark, factor)`` per CSV column taken straight from a benchmark, in column order."""
        return tuple((column, getattr(self, name), factor) for column, name, factor in self.COLUMNS)


@dataclass(frozen=True)
class Compression(Family):
    """benchmarks/compression.py: one store per codec."""

    COLUMNS = (("write_ms", "write", 1000), ("read_ms", "read", 1000), ("compression_ratio", "ratio", 1),
               ("stored_bytes", "stored_bytes", 1))
    module: str = "compression"
    write: str = "compression.Write.time_write"
    read: str = "compression.Read.time_read"
    ratio: str = "compression.Storage.track_compression_ratio"
    stored_bytes: str = "compression.Storage.track_stored_bytes"


@dataclass(frozen=True)
class Chunking(Family):
    """benchmarks/chunking.py: one store per chunk shape (and sharded layout)."""

    COLUMNS = (("files", "files", 1), ("write_ms", "write", 1000), ("full_read_ms", "full_read", 1000),
               ("slice_xy_ms", "slice_xy", 1000), ("slice_xz_ms", "slice_xz", 1000), ("slice_yz_ms", "slice_yz", 1000),
               ("compression_ratio", "ratio", 1))
    module: str = "chunking"
    write: str = "chunking.Write.time_write"
    full_read: str = "chunking.Read.time_read_full"
    slice_xy: str = "chunking.Read.time_read_slice_xy"
    slice_xz: str = "chunking.Read.time_read_slice_xz"
    slice_yz: str = "chunking.Read.time_read_slice_yz"
    files: str = "chunking.Storage.track_file_count"
    ratio: str = "chunking.Storage.track_compression_ratio"
    boxes: str = "chunking.Read.time_read_particle_boxes"
    every_core: str = "chunking.ReadEveryCore"

    def read(self, method: str, every_core: bool = False) -> str:
        """``chunking.Read.<method>``, or ``chunking.ReadEveryCore.<method>`` (the same reads on every core)."""
        return f"{self.every_core if every_core else 'chunking.Read'}.{method}"

    @property
    def slices(self) -> dict[str, str]:
        """The slice reads by plane: ``{"XY": benchmark, "XZ": …, "YZ": …}``."""
        return {"XY": self.slice_xy, "XZ": self.slice_xz, "YZ": self.slice_yz}


@dataclass(frozen=True)
class Access(Family):
    """benchmarks/access.py: access patterns per layout, locally, counted over HTTP, and over slow HTTP."""

    COLUMNS = (("read_ms", "read", 1000), ("get_requests", "gets", 1), ("bytes_fetched", "bytes_fetched", 1))
    module: str = "access"
    read: str = "access.Read.time_read"
    gets: str = "access.Requests.track_get_requests"
    bytes_fetched: str = "access.Requests.track_bytes_fetched"
    remote: str = "access.RemoteRead.time_read"

    @staticmethod
    def remote_column(latency_ms) -> str:
        """The CSV column of :attr:`remote` at one added latency, e.g. ``remote_20ms_read_ms``."""
        return f"remote_{latency_ms}ms_read_ms"


@dataclass(frozen=True)
class Limits(Family):
    """benchmarks/limits.py: the physical limit, the same bytes as one raw file and in memory (no CSV of its own)."""

    module: str = "limits"
    write: str = "limits.RawIO.time_write_file"
    read: str = "limits.RawIO.time_read_file"
    copy: str = "limits.RawIO.time_memory_copy"


@dataclass(frozen=True)
class ProcessState(Family):
    """benchmarks/process_state.py: minor page faults per read, allocator pinned and in glibc's default state."""

    module: str = "process_state"
    faults: str = "process_state.PageFaults.track_minor_faults_per_read"


@dataclass(frozen=True)
class Realistic(Family):
    """benchmarks/realistic.py: the headline benchmarks on a portal-sized phantom."""

    COLUMNS = (("write_s", "write", 1), ("full_read_s", "full_read", 1), ("slice_xy_ms", "slice_xy", 1000))
    module: str = "realistic"
    write: str = "realistic.Write.time_write"
    full_read: str = "realistic.Read.time_read_full"
    slice_xy: str = "realistic.Read.time_read_slice_xy"

    def use_case(self, method: str) -> str:
        """A use case's read at portal size on every core, e.g. ``realistic.UseCases.time_read_orthogonal``."""
        return f"realistic.UseCases.{method}"

    def on_format_3(self, benchmark: str) -> str | None:
        """The same use-case read of the plain chunks on zarr format 3 (``realistic.UseCasesV3``), None for others."""
        prefix = "realistic.UseCases."
        return f"realistic.UseCasesV3.{benchmark.removeprefix(prefix)}" if benchmark.startswith(prefix) else None

    def in_place(self, method: str) -> str:
        """A use case's read of an ``s3://`` source's own store on its object store: ``realistic.InPlace.<method>``."""
        return f"realistic.InPlace.{method}"

    def object_storage(self, workload: str) -> str:
        """A read from object storage at portal size: ``realistic.ObjectStorage.time_read_<workload>``."""
        return f"realistic.ObjectStorage.time_read_{workload}"


@dataclass(frozen=True)
class Engines(Family):
    """benchmarks/engines.py: the same stores through zarr-python, the zarrs pipeline and tensorstore."""

    module: str = "engines"
    write: str = "engines.Write.time_write"
    full_read: str = "engines.Read.time_read_full"
    slice_xy: str = "engines.Read.time_read_slice_xy"
    slice_xz: str = "engines.Read.time_read_slice_xz"
    slice_yz: str = "engines.Read.time_read_slice_yz"
    boxes: str = "engines.Read.time_read_particle_boxes"
    peak_open: str = "engines.Memory.peakmem_open"
    peak_read: str = "engines.Memory.peakmem_read_full"
    peak_write: str = "engines.Memory.peakmem_write"
    gets: str = "engines.Requests.track_get_requests"
    bytes_fetched: str = "engines.Requests.track_bytes_fetched"
    remote: str = "engines.RemoteRead.time_read"
    interop: str = "engines.Interop.track_mismatched_voxels"

    @property
    def operations(self) -> dict[str, str]:
        """The timed operations by name, in table order: ``{"write": benchmark, "full": …, …}``."""
        return {"write": self.write, "full": self.full_read, "xy": self.slice_xy, "xz": self.slice_xz,
                "yz": self.slice_yz, "box32": self.boxes}


@dataclass(frozen=True)
class Lossy(Family):
    """benchmarks/lossy.py: ratio, speed and fidelity of lossy codecs (and lossless float codecs)."""

    module: str = "lossy"
    write: str = "lossy.Write.time_write"
    full_read: str = "lossy.Read.time_read"
    ratio: str = "lossy.Storage.track_compression_ratio"
    stored_bytes: str = "lossy.Storage.track_stored_bytes"

    @property
    def fidelity(self) -> dict[str, str]:
        """CSV column -> benchmark, for every fidelity figure."""
        return {**{name: f"lossy.Fidelity.track_{name}" for name in (
                    "rmse_over_sigma", "max_abs_error_over_sigma", "fsc_05_nyquist", "fsc_0143_nyquist",
                    "particle_ncc_min")},
                "psnr": "lossy.PSNR.track_psnr", "truth_fsc_0143_nyquist": "lossy.AgainstTruth.track_fsc_0143_nyquist",
                "truth_fsc_max_drop": "lossy.AgainstTruth.track_max_fsc_drop",
                **{name: f"lossy.HalfMaps.track_{name}" for name in (
                    "half_fsc_0143_nyquist", "half_fsc_0143_shift", "half_fsc_max_drop")}}


@dataclass(frozen=True)
class Cold(Family):
    """benchmarks/cold.py: reads with the store's files dropped from the page cache first."""

    module: str = "cold"
    full_read: str = "cold.Read.time_read_full"
    slice_xy: str = "cold.Read.time_read_slice_xy"


@dataclass(frozen=True)
class ObjectStorage(Family):
    """benchmarks/object_storage.py: reads from an S3 API on loopback, per client, with their requests."""

    module: str = "object_storage"
    concurrency: str = "object_storage.Concurrency.time_read_full"
    open: str = "object_storage.OpenImage.time_open"
    image_requests: str = "object_storage.ImageTraffic.track_requests"

    def read(self, workload: str) -> str:
        """``object_storage.Read.time_read_<workload>`` (xy, orthogonal, box32, box64, full)."""
        return f"object_storage.Read.time_read_{workload}"

    def traffic(self, metric: str) -> str:
        """``object_storage.Traffic.<metric>``: track_requests, track_read_amplification, track_max_in_flight."""
        return f"object_storage.Traffic.{metric}"


COLD = Cold()
OBJECT_STORAGE = ObjectStorage()
COMPRESSION = Compression()
CHUNKING = Chunking()
ACCESS = Access()
LIMITS = Limits()
PROCESS_STATE = ProcessState()
REALISTIC = Realistic()
ENGINES = Engines()
LOSSY = Lossy()


@dataclass(frozen=True)
class Instructions(Family):
    """benchmarks/instructions.py: ``instructions.<Module><Class>.track_instructions_<read>`` counts the cases of
    ``<module>.<Class>.time_<read>``, with the same parameters."""

    module: str = "instructions"
    prefix: str = "track_instructions_"

    def counts(self, benchmark: str) -> bool:
        """Whether ``benchmark`` is the count of a timed class's cases."""
        return benchmark.startswith(self.module + ".") and benchmark.rpartition(".")[2].startswith(self.prefix)

    def timed(self, benchmark: str) -> str:
        """The timing a count belongs to: ``instructions.ChunkingRead.track_instructions_read_full`` →
        ``chunking.Read.time_read_full``."""
        _, cls, method = benchmark.split(".")
        module, timed_class = re.fullmatch(r"([A-Z][a-z_]+)([A-Z]\w*)", cls).groups()
        return f"{module.lower()}.{timed_class}.time_{method.removeprefix(self.prefix)}"


INSTRUCTIONS = Instructions()

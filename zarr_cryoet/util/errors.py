"""Exceptions raised for bad input.

Every message is one line that names the problem and says how to fix it, so
the command-line entry points can print ``str(error)`` and exit non-zero
without a traceback.
"""


class ZarrCryoetError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidVolumeError(ZarrCryoetError, ValueError):
    """The data is not a 3-D numeric array."""


class UnknownCodecError(ZarrCryoetError, ValueError):
    """A codec name that is not in the registry."""


class UnknownEngineError(ZarrCryoetError, ValueError):
    """An engine name that is not zarr-python, zarrs or tensorstore."""


class InvalidChunksError(ZarrCryoetError, ValueError):
    """A chunk shape that is malformed or does not fit the volume."""


class StoreExistsError(ZarrCryoetError, FileExistsError):
    """Refusing to overwrite something that is already on disk."""


class FormatUnavailableError(ZarrCryoetError, NotImplementedError):
    """The installed zarr cannot write the requested zarr format.

    It subclasses ``NotImplementedError`` because that is how asv marks a
    parameter combination as skipped (stored as NaN, not as a failure).
    """


class ShardingNeedsFormat3Error(InvalidChunksError, NotImplementedError):
    """Sharding asked for on zarr format 2, which has no shards.

    A ``NotImplementedError`` too, so a benchmark whose parameters combine shards with
    format 2 is skipped by asv (NaN), the same rule as for the command line.
    """

"""A known slowdown of zarr's read path, switched on by an environment variable: the alarm's proof.

The nightly alarm must be shown to catch a real 10–25 % regression. No zarr release has one of a
known size, so this module makes one: with ``ZARR_CRYOET_INJECT_SLOWDOWN=0.25`` in the
environment, every read through a zarr-python array (``Array.__getitem__``, zarr 2 and 3, which
every read benchmark of the suite calls) takes 25 % longer. The extra time is a busy loop on the
reading thread, of length ``fraction × the time the real read took``: it scales with the real
decode path (more chunks, slower codec, slower state of the machine: more extra time), as a
regression in zarr's own code would, and it costs CPU, not a sleep the OS could overlap.

The benchmarks are not touched: the suite installs the hook when it is imported
(``benchmarks/__init__.py``), so every measured process of an ``asv run`` started with the
variable set is slowed, and nothing else is. Writes, tensorstore and the zarrs pipeline's own
reads through tensorstore are not slowed (only ``Array.__getitem__`` is wrapped); the
benchmarks that read through zarr-python are the affected ones.
"""

from __future__ import annotations

import functools
import os
import time

from zarr_cryoet.util.errors import ZarrCryoetError

SLOWDOWN_ENV = "ZARR_CRYOET_INJECT_SLOWDOWN"

_installed: float = 0.0


class InjectionError(ZarrCryoetError, ValueError):
    """A slowdown setting that is not a fraction between 0 and 10."""


def requested(environ=None) -> float:
    """The fraction :data:`SLOWDOWN_ENV` asks for (0.0 when unset); InjectionError when it is not a number."""
    raw = (os.environ if environ is None else environ).get(SLOWDOWN_ENV, "").strip()
    if not raw:
        return 0.0
    try:
        fraction = float(raw.removesuffix("%")) / (100 if raw.endswith("%") else 1)
    except ValueError:
        fraction = -1.0
    if not 0.0 <= fraction <= 10.0:
        raise InjectionError(f"${SLOWDOWN_ENV}={raw!r} is not a slowdown; give a fraction such as 0.1 or "
                             "a percentage such as 25% (0 or unset: none)")
    return fraction


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def slowed(getitem, fraction: float):
    """``getitem`` made ``fraction`` slower: after each call, a busy loop of ``fraction`` × its duration."""
    @functools.wraps(getitem)
    def __getitem__(self, selection):
        start = time.perf_counter()
        result = getitem(self, selection)
        _spin(fraction * (time.perf_counter() - start))
        return result

    __getitem__.__wrapped_slowdown__ = fraction
    return __getitem__


def install(fraction: float) -> bool:
    """Slow zarr-python's ``Array.__getitem__`` by ``fraction`` in this process; False when there is nothing
    to slow (fraction 0, or zarr not installed). Installing twice does not compound."""
    global _installed
    if fraction <= 0 or _installed:
        return bool(_installed)
    try:
        import zarr
    except ImportError:
        return False
    array_class = zarr.Array  # zarr 2: zarr.core.Array; zarr 3: zarr.core.array.Array
    array_class.__getitem__ = slowed(array_class.__getitem__, fraction)
    _installed = fraction
    return True


def install_from_environment() -> float:
    """:func:`install` what :data:`SLOWDOWN_ENV` asks for; the fraction installed (0.0: none)."""
    fraction = requested()
    return fraction if install(fraction) else 0.0


def installed() -> float:
    """The slowdown installed in this process (0.0: none)."""
    return _installed

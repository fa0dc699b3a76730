"""A store's files in the kernel's page cache: drop them (a cold read) and count what is still resident.

A read of a local store whose files sit in the page cache measures decoding; a user who opens a
tomogram for the first time (or after others have pushed it out) also pays the disk. To measure
that without root, :func:`evict` asks the kernel to drop each file's cached pages with
``posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)``: clean pages go at once (a store written long
before, as the setup cache's are, has no dirty ones). :func:`resident_fraction` checks that it
worked, with ``mincore(2)`` on a read-only mapping of each file: the share of the store's pages
still in memory. Mapping a file does not read it, so the check leaves the cache as it found it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
from pathlib import Path

_PAGE = mmap.PAGESIZE
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
_MAP_FAILED = ctypes.c_void_p(-1).value


def store_files(store) -> list[Path]:
    """Every regular, non-empty file of a directory store (chunks, shards and metadata)."""
    root = Path(store)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.stat().st_size > 0)


def evict(store) -> int:
    """Drop the store's files from the page cache; the bytes asked to be dropped.

    Each file is flushed first (``fdatasync``): the kernel keeps dirty pages, so a store written moments
    ago would otherwise stay cached whatever it is told."""
    dropped = 0
    for path in store_files(store):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            dropped += os.fstat(fd).st_size
        finally:
            os.close(fd)
    return dropped


def resident_pages(path) -> tuple[int, int]:
    """(pages of ``path`` in the page cache, pages of ``path``), by ``mincore`` on a read-only mapping."""
    size = os.path.getsize(path)
    pages = (size + _PAGE - 1) // _PAGE
    if pages == 0:
        return 0, 0
    fd = os.open(path, os.O_RDONLY)
    try:
        address = _libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if address in (None, _MAP_FAILED):
            raise OSError(ctypes.get_errno(), f"mmap of {path} failed")
        try:
            vector = (ctypes.c_ubyte * pages)()
            if _libc.mincore(address, size, vector) != 0:
                raise OSError(ctypes.get_errno(), f"mincore of {path} failed")
            return sum(byte & 1 for byte in vector), pages
        finally:
            _libc.munmap(address, size)
    finally:
        os.close(fd)


def resident_fraction(store) -> float:
    """The share of the store's file pages in the page cache (0.0: cold, 1.0: every page cached)."""
    resident = total = 0
    for path in store_files(store):
        r, t = resident_pages(path)
        resident, total = resident + r, total + t
    return resident / total if total else 0.0

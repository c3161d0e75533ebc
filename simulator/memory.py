"""Handing memory a run no longer uses back to the operating system.

Freed memory does not always leave the process: glibc's allocator keeps freed blocks in
its heap for later ``malloc`` calls, and Arrow's allocator keeps freed buffers for later
Arrow allocations.  A run that frees a few hundred megabytes of one kind (the trace's
Arrow columns, the engine's NumPy arrays) and then allocates the other kind would hold
both.  :func:`release_freed_memory` returns what both keep, between phases of a large run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.lru_cache(maxsize=None)
def _malloc_trim():
    """glibc's ``malloc_trim``, or None (another C library)."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
    if trim is not None:
        trim.argtypes = [ctypes.c_size_t]
        trim.restype = ctypes.c_int
    return trim


def release_freed_memory() -> None:
    """Return the memory freed so far that the allocators keep (a few milliseconds)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)

"""Handing memory a run no longer uses back to the operating system.

Freed memory does not always leave the process: glibc's allocator keeps freed blocks in
its heap for later ``malloc`` calls, and Arrow's allocator keeps freed buffers for later
Arrow allocations.  A run that frees a few hundred megabytes of one kind (the trace's
Arrow columns, the engine's NumPy arrays) and then allocates the other kind would hold
both.  :func:`release_freed_memory` returns what both keep, between phases of a large run.

A process that is about to exit need not free anything: :func:`skip_final_collections`
spares it the garbage collector's passes over every live object at shutdown.
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


def skip_final_collections() -> None:
    """At exit, move every live object to the collector's permanent generation.

    Python's shutdown runs full cyclic garbage collections over every object still
    alive -- after a contact search some 190,000 (numba, pandas, the catalogue): 0.35
    to 0.4 s of a 4.5 s ``spaceverse contacts`` -- only to free memory the operating
    system takes back anyway.  Frozen objects are still freed by reference counting
    and their finalizers run as before; atexit handlers registered later (so run
    earlier) are untouched.  Only garbage cycles still alive at exit are left to the
    operating system.  For processes we own only (the command line, local sweep
    workers): a caller's interpreter (a notebook, the tests) is never touched.
    """
    import atexit
    import gc

    atexit.register(gc.freeze)

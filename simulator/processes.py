"""This process and the processes it starts: when forking is safe, and how they end.

A forked child starts in milliseconds with everything its parent imported; a spawned
one starts a new interpreter and imports the package again (about a second of CPU).
:func:`fork_is_safe` says when forking may be used; the sweep's local workers
(:mod:`simulator.sweep.executors`) and the preloaded contact search
(:mod:`simulator.orbits.preloaded_search`) both ask it.  :func:`skip_final_collections`
spares a process that is about to exit the garbage collector's passes over every live
object.  The standard library only: the command line reads this before anything heavy.
"""

from __future__ import annotations

import sys


def fork_is_safe() -> bool:
    """Whether this process may fork a child that goes on running Python: on Linux, when
    it runs a single thread (no lock can be held by a thread the child would not have)
    and has not imported torch (its thread pools do not survive a fork).  Elsewhere
    (macOS, Windows, a notebook kernel, torch loaded) children are spawned instead."""
    import multiprocessing
    import threading

    return (sys.platform.startswith("linux") and threading.active_count() == 1
            and "torch" not in sys.modules
            and "fork" in multiprocessing.get_all_start_methods())


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

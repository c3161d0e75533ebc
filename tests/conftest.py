"""Shared test fixtures.

* Every test gets its own on-disk cache folder (``SPACEVERSE_CACHE``), so no test
  reads or writes ``~/.cache/spaceverse`` and no test sees another's cache.
* The command line (:func:`simulator.cli.main`) reconfigures the ``simulator``
  logger: a handler bound to the ``sys.stderr`` of that moment (a finished
  test's capture stream, when run in-process), a level, ``propagate = False``.
  The logger's state is restored after every test so none of that leaks into
  later tests.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def spaceverse_cache(tmp_path_factory, monkeypatch) -> Path:
    """The cache folder of this test (``SPACEVERSE_CACHE``), initially empty."""
    folder = tmp_path_factory.mktemp("spaceverse-cache")
    monkeypatch.setenv("SPACEVERSE_CACHE", str(folder))
    return folder


@pytest.fixture(autouse=True)
def _restore_simulator_logger():
    logger = logging.getLogger("simulator")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate

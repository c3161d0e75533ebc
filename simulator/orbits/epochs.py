"""How far a simulation's start lies from a catalog's element-set epochs.

SGP4 element sets are fits valid near their epoch; :func:`epoch_warnings` says when a
start is far from them (or before them).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .tle import Catalog

logger = logging.getLogger("simulator.orbits.tle")

UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def microseconds(when: datetime) -> int:
    """``when`` (aware) as whole microseconds since 1970-01-01 UTC."""
    return (when - UNIX_EPOCH) // timedelta(microseconds=1)


def epoch_warnings(catalog: "Catalog", start: datetime, *, max_age_days: float = 14.0,
                   max_spread_days: float = 30.0) -> list[str]:
    """Warnings about how far ``start`` lies from the catalog's epochs.

    SGP4 element sets are fits valid near their epoch; position errors grow
    with every day the propagation reaches away from it (kilometres per day
    is typical in low orbit, more for satellites that manoeuvre).  Three
    things are checked, each giving one message:

    * element sets more than ``max_age_days`` older than ``start``;
    * element sets whose epoch is *after* ``start`` (propagated backwards);
    * epochs spread over more than ``max_spread_days``.

    Each message is also logged with ``logger.warning``; an empty list means
    all is well.  A naive ``start`` is taken as UTC.

    >>> from simulator.orbits.tle import load_catalog
    >>> catalog = load_catalog("eo@2026-06-14")
    >>> epoch_warnings(catalog, datetime(2026, 6, 16, tzinfo=timezone.utc))
    []
    """
    if start.tzinfo is None:
        start = start.replace(tzinfo=timezone.utc)
    if not catalog.elements:
        return []
    # (start - epoch).total_seconds() / 86400 of every element set, in arrays: whole
    # microseconds, divided as timedelta.total_seconds divides them
    ages = (microseconds(start) - catalog.epoch_microseconds()).astype(float) / 1e6 / 86400.0
    total = len(ages)
    oldest_age, newest_age = float(ages.max()), float(ages.min())
    when = f"{start.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"
    messages = []
    stale = int(np.count_nonzero(ages > max_age_days))
    if stale:
        messages.append(
            f"{catalog.name}: {stale} of {total} element sets are more than {max_age_days:g} "
            f"days older than the simulation start {when} (ages {newest_age:.1f} to "
            f"{oldest_age:.1f} days); expect growing SGP4 position errors")
    future = int(np.count_nonzero(ages < 0))
    if future:
        messages.append(
            f"{catalog.name}: {future} of {total} element sets have epochs after the "
            f"simulation start {when} (up to {-newest_age:.1f} days later); they are "
            f"propagated backwards in time")
    spread = oldest_age - newest_age
    if spread > max_spread_days:
        oldest, newest = catalog.epoch_span()
        messages.append(
            f"{catalog.name}: epochs spread over {spread:.1f} days ({oldest:%Y-%m-%d} to "
            f"{newest:%Y-%m-%d}), more than {max_spread_days:g}; the satellites are not "
            f"described at one consistent time")
    for message in messages:
        logger.warning("%s", message)
    return messages

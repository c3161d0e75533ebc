"""Which satellite captures which sample, and when.

Two ways to say how much work arrives:

* a **rate** (``workload.rate_per_satellite_h``): every satellite captures that
  many samples per hour.  The number of samples follows from the run's length,
  ``n = rate x satellites x duration``, and results *under load* depend on the
  rate, not on how long the run is.  Arrivals are ``periodic`` (each satellite
  every ``1 / rate`` hours, satellites staggered evenly) or ``poisson`` (a seeded
  Poisson process of the total rate).  Capture times are prefix-stable: a
  longer run at the same rate starts with exactly the captures of a shorter one.
* a **count** (``workload.samples``) spread over the duration: ``uniform``
  (evenly spaced), ``poisson`` (seeded exponential gaps of the mean spacing) or
  ``at_start`` (everything at time 0).  The load then grows with the count.

>>> import numpy as np
>>> sat, t = spread_samples(6, 3, 3600.0, assignment="round_robin", arrival="uniform",
...                         rng=np.random.default_rng(0))
>>> sat.tolist()
[0, 1, 2, 0, 1, 2]
>>> t.tolist()
[0.0, 600.0, 1200.0, 1800.0, 2400.0, 3000.0]
>>> sat, t = spread_samples(6, 3, 3600.0, assignment="round_robin", arrival="periodic",
...                         rng=np.random.default_rng(0), rate_per_satellite_h=2.0)
>>> t.tolist()            # each satellite every 1800 s, the three staggered by 600 s
[0.0, 600.0, 1200.0, 1800.0, 2400.0, 3000.0]
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError


def sample_count(*, samples: int | None, rate_per_satellite_h: float | None,
                 satellites: int, duration_h: float) -> int | None:
    """Samples to simulate: ``samples``, or ``rate x satellites x duration`` (None = all rows).

    >>> sample_count(samples=None, rate_per_satellite_h=4, satellites=10, duration_h=24)
    960
    """
    if rate_per_satellite_h is None:
        return samples
    n = int(math.floor(rate_per_satellite_h * satellites * duration_h + 1e-9))
    if n < 1:
        raise InputError(f"workload.rate_per_satellite_h {rate_per_satellite_h:g} x "
                         f"{satellites} satellites x {duration_h:g} h gives no sample; "
                         f"expected at least one")
    return n


def spread_samples(n: int, n_satellites: int, duration_s: float, *, assignment: str,
                   arrival: str, rng: np.random.Generator,
                   rate_per_satellite_h: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Satellite index and capture time (seconds) for each of ``n`` samples.

    * ``assignment``: ``round_robin`` deals samples to satellites in turn (the
      paper "evenly distributes the test data"); ``random`` draws a satellite per
      sample.
    * ``arrival``: see the module docstring.  With ``rate_per_satellite_h`` the
      mean spacing of captures (all satellites together) is ``3600 / (rate x
      satellites)`` seconds; without it, ``duration_s / n``.
    """
    if n_satellites < 1:
        raise InputError("workload: no satellites to assign samples to")
    if assignment == "round_robin":
        sat = np.arange(n) % n_satellites
    elif assignment == "random":
        sat = rng.integers(0, n_satellites, size=n)
    else:
        raise InputError(f"workload.assignment: expected round_robin or random, got {assignment!r}")
    if rate_per_satellite_h is not None:
        spacing = 3600.0 / (float(rate_per_satellite_h) * n_satellites)
    else:
        spacing = duration_s / n if n else 0.0
    if arrival in ("uniform", "periodic"):
        if arrival == "periodic" and rate_per_satellite_h is None:
            raise InputError("workload.arrival periodic needs workload.rate_per_satellite_h")
        t = np.arange(n) * spacing
    elif arrival == "poisson":
        gaps = rng.exponential(spacing, size=n)
        t = np.concatenate([[0.0], np.cumsum(gaps[:-1])]) if n else np.zeros(0)
    elif arrival == "at_start":
        t = np.zeros(n)
    else:
        raise InputError(f"workload.arrival: expected periodic, uniform, poisson or at_start, "
                         f"got {arrival!r}")
    return sat.astype(np.int64), t.astype(float)

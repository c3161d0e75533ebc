"""Which satellite captures which sample, and when.

>>> import numpy as np
>>> sat, t = spread_samples(6, 3, 3600.0, assignment="round_robin", arrival="uniform",
...                         rng=np.random.default_rng(0))
>>> sat.tolist()
[0, 1, 2, 0, 1, 2]
>>> t.tolist()
[0.0, 600.0, 1200.0, 1800.0, 2400.0, 3000.0]
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError


def spread_samples(n: int, n_satellites: int, duration_s: float, *, assignment: str,
                   arrival: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Satellite index and capture time (seconds) for each of ``n`` samples.

    * ``assignment``: ``round_robin`` deals samples to satellites in turn (the
      paper "evenly distributes the test data"); ``random`` draws a satellite per
      sample.
    * ``arrival``: ``uniform`` spaces captures evenly over ``[0, duration)``;
      ``poisson`` draws them as a Poisson process of the same mean rate (sorted
      uniform draws); ``at_start`` captures everything at time 0.
    """
    if n_satellites < 1:
        raise InputError("workload: no satellites to assign samples to")
    if assignment == "round_robin":
        sat = np.arange(n) % n_satellites
    elif assignment == "random":
        sat = rng.integers(0, n_satellites, size=n)
    else:
        raise InputError(f"workload.assignment: expected round_robin or random, got {assignment!r}")
    if arrival == "uniform":
        t = np.arange(n) * (duration_s / n)
    elif arrival == "poisson":
        t = np.sort(rng.uniform(0.0, duration_s, size=n))
    elif arrival == "at_start":
        t = np.zeros(n)
    else:
        raise InputError(f"workload.arrival: expected uniform, poisson or at_start, got {arrival!r}")
    return sat.astype(np.int64), t.astype(float)

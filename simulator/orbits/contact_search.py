"""The contact-window search behind :func:`simulator.orbits.contacts.find_contacts`.

For every satellite x station pair we want every interval in which the satellite
stands at or above the station's elevation mask, with rise, set and culmination
times that are roots of the elevation computed from real SGP4 states.  Work goes
in four steps, per chunk of satellites and per *block* of grid cells:

1. **Coarse SGP4 grid.**  Positions and velocities at ``t_k = k H`` (``H`` = the
   grid step, 360 s by default), always anchored at the start and padded to whole
   cells, rotated into the Earth-fixed frame.  Blocks of :data:`BLOCK_CELLS` cells
   start at fixed multiples of ``H``, so memory is bounded for any span and no
   result depends on how long the search runs.
2. **Cell pre-filter** (provable).  With ``c(t) = r_hat(t) . g_hat`` (the cosine of
   the geocentric angle between satellite and station) and ``|c''| <= |r_hat''| <=
   K`` (a bound from the orbit: angular rate, radial rate, the non-radial part of
   the Earth-fixed acceleration), ``c`` on a cell is at most the larger of the
   end values and of ``c_i +- c'_i H/2 + K H^2/8`` (Taylor from each end over its
   half of the cell).  A satellite above elevation ``m`` at radius ``<= rho_max``
   has ``c >= cos(lambda)``, ``lambda = acos(R cos m / rho_max) - m`` (``m``
   lowered by the tilt between the geodetic and geocentric verticals), so a cell
   whose bound stays below ``cos(lambda)`` holds no visibility.
3. **Hermite screening** of the surviving cells on sub-steps of ``h = H / n``
   (about :data:`SUB_STEP_S`): the cubic Hermite interpolant of the two SGP4
   states gives ``g = sin(elevation) - sin(mask)`` and ``g'`` at every sub-step.
   Between two sub-steps ``|g''| <= M = |a|/d + phi v^2/d^2`` with ``phi = s/2 +
   sqrt(1 + s^2/4)`` (``d``, ``v``, ``|a|`` and ``s >= |sin(elevation)|`` bounded
   over the sub-step from its ends: the range, speed and elevation change at most
   at the speed and the rates these give), so ``g`` is bounded above and below by
   ``g_j +- g'_j h/2 +- M h^2/8`` from each end, widened by a bound on the
   interpolation error (fourth derivative of the motion, plus the mismatch between
   SGP4's velocity and the derivative of its positions, measured per cell).  Each
   sub-step is then
   provably *clear* (no visibility), *inside* (visible throughout; a culmination
   if ``g'`` turns from + to -), a *simple root* (provably monotone, certain signs
   at both ends: one rise or set), or *ambiguous*.  A pass shorter than the
   sub-step or whose peak sits just above the mask between two sub-steps can
   only make a sub-step ambiguous, never clear.
4. **Exact refinement on SGP4.**  Ambiguous sub-steps are resolved with SGP4
   values at their ends, bisected (more SGP4 values) until every piece is clear,
   inside, or monotone -- down to :data:`H_MIN_S`.  Every rise and set is then a
   root of the SGP4 elevation found by Newton steps kept inside its bracket (whose
   end signs are known; SGP4 called at every iterate), every culmination a root of
   ``g'`` found the same way.  They start from the Hermite estimate polished on a
   quintic Hermite interpolant (positions, SGP4 velocities and force-model
   accelerations at the cell ends, ~1 m), so one SGP4 call per event usually
   suffices.  The windows are paired from these events in arrays and clipped to
   the interval; the culmination is the highest refined peak inside the window
   (or a clipped end).

Every decision uses one cell's data (or one satellite's elements) only, and every
refinement starts from a bracket on the sub-step grid, so the windows found inside
``[0, T1]`` are bit for bit the same whether the search runs to ``T1`` or longer,
and whatever the chunking or the number of worker processes.

The bounds (:func:`satellite_bounds`) come from the elements with margins for
SGP4's periodic terms and for decay; a satellite whose grid states leave them (in
practice: one re-entering) is left out with a warning, like one SGP4 cannot
propagate.  They assume physical motion: elements whose SGP4 velocities disagree
with the derivative of the positions by more than :data:`EPS_V_PREFILTER` (absurd
drag terms) are screened with a pre-filter that may miss passes.

Step 3 is compiled with numba (:mod:`simulator.orbits.contact_kernel`) for large jobs
when it is installed (:func:`choose_kernel`; ``SPACEVERSE_NUMBA=0`` turns it off);
the pure numpy version computes the same numbers operation by operation (additions,
products, quotients and square roots in the same order, no fused or reassociated
arithmetic), so both give identical windows.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sgp4.api import SatrecArray

from .frames import EarthClock, teme_to_ecef
from .search_policy import (AUTO_NUMBA_WORK, choose_kernel,  # noqa: F401 - re-exported
                            kernel_available, numba_installed)

MU_KM3_S2 = 398600.8  # WGS72, as SGP4
RE_KM = 6378.135
J2 = 1.082616e-3
OMEGA_E = 7.292115146706979e-5  # rad/s, as the TEME -> Earth-fixed velocity term

#: Target length of a screening sub-step (seconds); a grid cell holds ceil(H / this).
SUB_STEP_S = 20.0
#: Grid cells per time block (memory: satellites x block x 48 bytes per array pair).
BLOCK_CELLS = 90
#: Ranges are floored here (km) in the bounds, to keep them finite.
D_FLOOR_KM = 1.0
#: SGP4 velocity vs derivative of its positions: the part not seen by the per-cell check.
EPS_V_BASE = 1e-4  # km/s
#: Force model (point mass + J2 + frame terms) vs SGP4's second derivative, km/s^2.
DA_MODEL = 2e-7
#: Pre-filter: tolerated SGP4 velocity inconsistency (km/s).
EPS_V_PREFILTER = 0.05
#: Derivative error of cubic Hermite interpolation: <= CV H^3 max|r''''| (sqrt(3)/216 x 2.5).
CV = 0.02
#: Ambiguous sub-steps are bisected down to this length (seconds).
H_MIN_S = 1e-3
#: Newton steps stop below these (seconds); the last step is applied, leaving roots
#: good to ~3e-7 s and culminations to ~1e-5 s (the peak value to ~1e-12).
ROOT_TOL_S = 2e-3
PEAK_TOL_S = 1e-2
_MAX_NEWTON = 60

RISE, SET, PEAK, AMBIGUOUS = 0, 1, 2, 3

# ---------------------------------------------------------------------------
# Kernel selection (see :mod:`simulator.orbits.search_policy`)

_compiled = None


def compiled():
    """The compiled kernel module (imports numba and loads or compiles the kernel)."""
    global _compiled
    if _compiled is None:
        with _without_blas_probe():
            from . import contact_kernel
            import numba.np.arraymath  # noqa: F401 - imported at the first call otherwise

        _compiled = contact_kernel
    return _compiled


#: The module numba imports when it is imported, only to learn whether ``np.dot`` and
#: friends may call BLAS (``numba.np.arraymath._HAVE_BLAS``): it imports scipy.linalg,
#: 0.13-0.2 s, a third of numba's start.  The contact kernel uses no BLAS.
_BLAS_PROBE = "scipy.linalg.cython_blas"


@contextmanager
def _without_blas_probe():
    """Import numba without its BLAS probe (see :data:`_BLAS_PROBE`), then set the flag
    the probe sets to whether scipy is installed: compiling a function that uses BLAS
    later imports scipy itself (``numba.np.linalg.ensure_blas``), as it does anyway.
    Nothing is skipped when numba or the probed module is already imported."""
    import importlib.util
    import sys

    if "numba" in sys.modules or _BLAS_PROBE in sys.modules:
        yield
        return
    sys.modules[_BLAS_PROBE] = None   # "import scipy.linalg.cython_blas" -> ImportError
    try:
        yield
    finally:
        if sys.modules.get(_BLAS_PROBE, 0) is None:
            del sys.modules[_BLAS_PROBE]
        arraymath = sys.modules.get("numba.np.arraymath")
        if arraymath is not None and hasattr(arraymath, "_HAVE_BLAS"):
            try:
                arraymath._HAVE_BLAS = importlib.util.find_spec("scipy") is not None
            except (ImportError, ValueError):
                arraymath._HAVE_BLAS = False


# ---------------------------------------------------------------------------
# Per-satellite and per-station constants (numpy, shared by both kernels)


def satellite_bounds(satrecs) -> dict[str, np.ndarray]:
    """Bounds on radius, speed, acceleration and derivatives of each orbit, from its
    elements only (so they do not depend on the searched interval), with margins for
    SGP4's periodic terms and for decay."""
    a = np.array([s.a for s in satrecs], dtype=float) * RE_KM
    e = np.array([s.ecco for s in satrecs], dtype=float)
    e_hi = np.minimum(e + 0.002, 0.99)
    a_hi = a * 1.01 + 50.0
    rho_hi = a_hi * (1.0 + e_hi)
    peri = a * (1.0 - e)
    # Decay lowers the orbit: down to 80 km altitude for low orbits, 10 % for high ones.
    rho_lo = np.maximum(np.minimum(peri - 50.0, np.maximum(RE_KM + 80.0, 0.9 * peri)), 100.0)
    with np.errstate(invalid="ignore"):
        v_i = np.sqrt(MU_KM3_S2 * np.maximum(2.0 / rho_lo - 1.0 / a_hi, 0.0)) * 1.01 + 0.01
    v_e = v_i + OMEGA_E * rho_hi
    omega = v_i / rho_lo + OMEGA_E
    rdot = v_i * (1.5 * e_hi + 0.005)
    g_i = MU_KM3_S2 / rho_lo**2 * (1.0 + 3.0 * J2 * (RE_KM / rho_lo) ** 2) + 1e-5
    frame = 2.0 * OMEGA_E * v_e + OMEGA_E**2 * rho_hi
    a_e = g_i + frame
    a_perp = 3.0 * J2 * MU_KM3_S2 * RE_KM**2 / rho_lo**4 + 1e-5 + frame
    k_rhat = a_perp / rho_lo + omega**2 + 2.0 * rdot * omega / rho_lo
    w2 = MU_KM3_S2 / rho_lo**3
    j4_i = (MU_KM3_S2**2 / rho_lo**5 * (1.0 + 3.0 * e_hi + 12.0 * e_hi**2)
            + 6.0 * w2 * v_i * rdot / rho_lo) * 1.25
    j3_i = w2 * (v_i + 3.0 * rdot) * 1.1
    w = OMEGA_E
    j4 = j4_i + 4 * w * j3_i + 6 * w**2 * g_i + 4 * w**3 * v_i + w**4 * rho_hi
    return {"rho_lo": rho_lo, "rho_hi": rho_hi, "v_max": v_e, "a_max": a_e, "k_rhat": k_rhat,
            "j4": j4, "j5": j4 * 2.0 * omega}


@dataclass(frozen=True)
class StationArrays:
    """Station geometry as arrays: Earth-fixed position (km), geodetic up, geocentric
    direction, sine of the mask, and the mask lowered to the geocentric vertical."""

    names: list
    p: np.ndarray  # (Q, 3)
    u: np.ndarray  # (Q, 3)
    ghat: np.ndarray  # (Q, 3)
    sin_mask: np.ndarray  # (Q,)
    m_geo: np.ndarray  # (Q,)
    radius: np.ndarray  # (Q,)

    @classmethod
    def of(cls, stations) -> "StationArrays":
        p = np.array([s.itrs_km() for s in stations], dtype=float).reshape(-1, 3)
        u = np.array([s.up_unit() for s in stations], dtype=float).reshape(-1, 3)
        radius = np.linalg.norm(p, axis=1)
        ghat = p / radius[:, None]
        delta = np.arccos(np.clip(np.einsum("qi,qi->q", ghat, u), -1.0, 1.0))
        mask = np.radians([s.min_elevation_deg for s in stations])
        return cls(names=[s.name for s in stations], p=p, u=u, ghat=ghat,
                   sin_mask=np.sin(mask), m_geo=mask - delta - 1e-6, radius=radius)

    def packed(self) -> np.ndarray:
        """(Q, 10): p, u, g_hat, sin(mask) -- the kernels' view."""
        return np.ascontiguousarray(np.column_stack([self.p, self.u, self.ghat, self.sin_mask]))


def reach_cosine(bounds, st: StationArrays) -> np.ndarray:
    """(S, Q) cosine of the largest geocentric angle at which each satellite can stand at
    or above each station's mask (2.0 where it never can)."""
    rho = bounds["rho_hi"][:, None]
    x = st.radius[None, :] * np.cos(st.m_geo)[None, :] / rho
    lam = np.arccos(np.clip(x, -1.0, 1.0)) - st.m_geo[None, :]
    out = np.cos(np.minimum(np.maximum(lam, 0.0) + 1e-6, np.pi))
    return np.ascontiguousarray(np.where(x > 1.0, 2.0, out))


@dataclass(frozen=True)
class Geometry:
    """Everything the screening kernels read, for one chunk of satellites."""

    H: float
    n: int
    basis: np.ndarray  # (7, n+1) Hermite position/velocity weights
    errf: np.ndarray  # (2, n+1) interpolation-error weights
    sat: np.ndarray  # (S, 9) per-satellite constants
    sta: np.ndarray  # (Q, 10)
    cos_lam: np.ndarray  # (S, Q)


def sub_steps(H: float) -> int:
    return max(1, int(math.ceil(H / SUB_STEP_S - 1e-9)))


def sub_time(m, H: float, n: int):
    """Time (s) of global sub-step ``m``: the same formula for grid points and sub-steps."""
    return (np.asarray(m, dtype=np.int64).astype(float) * H) / n


def make_geometry(bounds, st: StationArrays, H: float) -> Geometry:
    n = sub_steps(H)
    tau = np.arange(n + 1, dtype=float) / n
    t2 = tau * tau
    t3 = t2 * tau
    basis = np.array([
        2 * t3 - 3 * t2 + 1,
        (t3 - 2 * t2 + tau) * H,
        -2 * t3 + 3 * t2,
        (t3 - t2) * H,
        (6 * t2 - 6 * tau) / H,
        3 * t2 - 4 * tau + 1,
        3 * t2 - 2 * tau,
    ])
    om = tau * (1 - tau)
    errf = np.array([H**4 * om * om / 24.0, H * om])
    errf[:, 0] = 0.0
    errf[:, n] = 0.0
    j4 = bounds["j4"]
    sat = np.column_stack([
        bounds["k_rhat"] * (H * H / 8.0),  # 0: K H^2/8
        EPS_V_PREFILTER / bounds["rho_lo"],  # 1: error of c' at grid points
        j4,  # 2
        bounds["v_max"],  # 3
        bounds["a_max"],  # 4
        H**5 * bounds["j5"] / 720.0 + H * H * DA_MODEL / 6.0,  # 5: residual slack (km)
        j4 * H**3 * CV,  # 6: Hermite velocity error
        bounds["rho_lo"],  # 7
        bounds["rho_hi"],  # 8
    ])
    return Geometry(H=float(H), n=n, basis=np.ascontiguousarray(basis),
                    errf=np.ascontiguousarray(errf), sat=np.ascontiguousarray(sat),
                    sta=st.packed(), cos_lam=reach_cosine(bounds, st))


# ---------------------------------------------------------------------------
# Screening in numpy (the compiled twin is :mod:`simulator.orbits.contact_kernel`)


def grid_ecef(r_teme, v_teme, gmst, bounds, kernel):
    """Earth-fixed grid states and a per-satellite 'outside its bounds' flag."""
    c = np.cos(gmst)
    sn = np.sin(gmst)
    if kernel == "numba":
        r_teme = np.ascontiguousarray(r_teme)
        v_teme = np.ascontiguousarray(v_teme)
        r = np.empty_like(r_teme)
        v = np.empty_like(v_teme)
        bad = np.zeros(r_teme.shape[0], dtype=np.bool_)
        compiled().grid_ecef(r_teme, v_teme, c, sn, bounds["rho_lo"], bounds["rho_hi"],
                         bounds["v_max"], r, v, bad)
        return r, v, bad
    r, v = teme_to_ecef(r_teme, v_teme, gmst)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    vx, vy, vz = v[..., 0], v[..., 1], v[..., 2]
    rho = np.sqrt((x * x + y * y) + z * z)
    speed = np.sqrt((vx * vx + vy * vy) + vz * vz)
    with np.errstate(invalid="ignore"):
        ok = ((rho >= bounds["rho_lo"][:, None]) & (rho <= bounds["rho_hi"][:, None])
              & (speed <= bounds["v_max"][:, None]))
    return r, v, ~ok.all(axis=1)


def _max4(a, b, c, d):
    return np.maximum(np.maximum(np.maximum(a, b), c), d)


def _min4(a, b, c, d):
    return np.minimum(np.minimum(np.minimum(a, b), c), d)


def _accel_np(x, y, z, vx, vy):
    rho2 = (x * x + y * y) + z * z
    rho = np.sqrt(rho2)
    f = MU_KM3_S2 / (rho2 * rho)
    zz = z * z / rho2
    j = 1.5 * J2 * RE_KM * RE_KM / rho2
    w = OMEGA_E
    ax = (-f * x) * (1.0 + j * (1.0 - 5.0 * zz)) + (2.0 * w * vy + w * w * x)
    ay = (-f * y) * (1.0 + j * (1.0 - 5.0 * zz)) + (w * w * y - 2.0 * w * vx)
    az = (-f * z) * (1.0 + j * (3.0 - 5.0 * zz))
    return ax, ay, az


def _cell_eps_v_np(r0, v0, r1, v1, H, slack):
    ax0, ay0, az0 = _accel_np(r0[:, 0], r0[:, 1], r0[:, 2], v0[:, 0], v0[:, 1])
    ax1, ay1, az1 = _accel_np(r1[:, 0], r1[:, 1], r1[:, 2], v1[:, 0], v1[:, 1])
    hH = 0.5 * H
    c12 = H * H / 12.0
    rx = ((r1[:, 0] - r0[:, 0]) - hH * (v0[:, 0] + v1[:, 0])) + c12 * (ax1 - ax0)
    ry = ((r1[:, 1] - r0[:, 1]) - hH * (v0[:, 1] + v1[:, 1])) + c12 * (ay1 - ay0)
    rz = ((r1[:, 2] - r0[:, 2]) - hH * (v0[:, 2] + v1[:, 2])) + c12 * (az1 - az0)
    res = np.sqrt((rx * rx + ry * ry) + rz * rz)
    return (res + slack) / H + EPS_V_BASE


def _root_tau_np(ga, gb, gpa, gpb, hs):
    a1 = hs * gpa
    a2 = 3.0 * (gb - ga) - hs * (2.0 * gpa + gpb)
    a3 = 2.0 * (ga - gb) + hs * (gpa + gpb)
    tau = ga / (ga - gb)
    for _ in range(2):
        p = ga + tau * (a1 + tau * (a2 + tau * a3))
        dp = a1 + tau * (2.0 * a2 + 3.0 * a3 * tau)
        safe = np.where(dp != 0.0, dp, 1.0)
        tau = np.where(dp != 0.0, tau - p / safe, tau)
        tau = np.minimum(np.maximum(tau, 0.0), 1.0)
    return tau


def _peak_tau_np(ga, gb, gpa, gpb, hs):
    a1 = hs * gpa
    a2 = 3.0 * (gb - ga) - hs * (2.0 * gpa + gpb)
    a3 = 2.0 * (ga - gb) + hs * (gpa + gpb)
    tau = gpa / (gpa - gpb)
    for _ in range(2):
        p = a1 + tau * (2.0 * a2 + 3.0 * a3 * tau)
        dp = 2.0 * a2 + 6.0 * a3 * tau
        safe = np.where(dp != 0.0, dp, 1.0)
        tau = np.where(dp != 0.0, tau - p / safe, tau)
        tau = np.minimum(np.maximum(tau, 0.0), 1.0)
    return tau


def _polish_np(r0, v0, r1, v1, x, H, p, u, sin_m, peak):
    """Vectorised :func:`_polish` ((n, 3) cell states, per-row station vectors)."""
    ax0, ay0, az0 = _accel_np(r0[:, 0], r0[:, 1], r0[:, 2], v0[:, 0], v0[:, 1])
    ax1, ay1, az1 = _accel_np(r1[:, 0], r1[:, 1], r1[:, 2], v1[:, 0], v1[:, 1])
    t2 = x * x
    t3 = t2 * x
    t4 = t3 * x
    t5 = t4 * x
    HH = H * H
    h0 = ((1.0 - 10.0 * t3) + 15.0 * t4) - 6.0 * t5
    h1 = (((x - 6.0 * t3) + 8.0 * t4) - 3.0 * t5) * H
    h2 = (((0.5 * t2 - 1.5 * t3) + 1.5 * t4) - 0.5 * t5) * HH
    h3 = ((0.5 * t3 - t4) + 0.5 * t5) * HH
    h4 = ((-4.0 * t3 + 7.0 * t4) - 3.0 * t5) * H
    h5 = ((10.0 * t3 - 15.0 * t4) + 6.0 * t5)
    d0 = ((-30.0 * t2 + 60.0 * t3) - 30.0 * t4) / H
    d1 = ((1.0 - 18.0 * t2) + 32.0 * t3) - 15.0 * t4
    d2 = (((x - 4.5 * t2) + 6.0 * t3) - 2.5 * t4) * H
    d3 = ((1.5 * t2 - 4.0 * t3) + 2.5 * t4) * H
    d4 = ((-12.0 * t2 + 28.0 * t3) - 15.0 * t4)
    s0 = ((-60.0 * x + 180.0 * t2) - 120.0 * t3) / HH
    s1 = ((-36.0 * x + 96.0 * t2) - 60.0 * t3) / H
    s2 = ((1.0 - 9.0 * x) + 18.0 * t2) - 10.0 * t3
    s3 = ((3.0 * x - 12.0 * t2) + 10.0 * t3)
    s4 = ((-24.0 * x + 84.0 * t2) - 60.0 * t3) / H
    pos, vel, acc = [], [], []
    for c, (a0, a1) in enumerate(((ax0, ax1), (ay0, ay1), (az0, az1))):
        ra, va, rb, vb = r0[:, c], v0[:, c], r1[:, c], v1[:, c]
        pos.append(((((h0 * ra + h1 * va) + h2 * a0) + h3 * a1) + h4 * vb) + h5 * rb)
        vel.append((((d0 * (ra - rb) + d1 * va) + d4 * vb) + d2 * a0) + d3 * a1)
        acc.append((((s0 * (ra - rb) + s1 * va) + s4 * vb) + s2 * a0) + s3 * a1)
    dx = pos[0] - p[:, 0]
    dy = pos[1] - p[:, 1]
    dz = pos[2] - p[:, 2]
    wx, wy, wz = vel
    ux, uy, uz = u[:, 0], u[:, 1], u[:, 2]
    dn = np.sqrt((dx * dx + dy * dy) + dz * dz)
    inv = 1.0 / dn
    sn = ((dx * ux + dy * uy) + dz * uz) * inv
    dd = ((dx * wx + dy * wy) + dz * wz) * inv
    vu = (wx * ux + wy * uy) + wz * uz
    g = sn - sin_m
    gp = (vu - sn * dd) * inv
    ax, ay, az = acc
    au = (ax * ux + ay * uy) + az * uz
    vv = (wx * wx + wy * wy) + wz * wz
    da = (dx * ax + dy * ay) + dz * az
    ddd = ((vv - dd * dd) + da) / dn
    gpp = ((au - ddd * sn) - 2.0 * dd * gp) / dn
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peak, -gp / gpp, -g / gp)


def _start_time_np(m, n, H, tau, step):
    k = m // n
    j = m - k * n
    x = (j + tau) / n
    t = ((k * n).astype(float) * H) / n + x * H
    tn = t + step
    tn = np.where(np.isfinite(tn), tn, t)
    ta = (m.astype(float) * H) / n
    tb = ((m + 1).astype(float) * H) / n
    return np.minimum(np.maximum(tn, ta), tb)


def _classify_np(ga, gb, gpa, gpb, dna, dnb, ega, egb, egpa, egpb, er2, sa, sb, spa, spb, ev2,
                 amax, hs, hh, h2_8):
    """Vectorised :func:`contact_kernel._classify`: (kind, tau) arrays, kind -1 for none."""
    vloc = np.maximum(spa, spb) + ev2 + amax * hh
    dcell = np.maximum(0.5 * (dna + dnb) - vloc * hh - er2, D_FLOOR_KM)
    inv = 1.0 / dcell
    s_hi = np.minimum(np.maximum(np.abs(sa), np.abs(sb)) + np.maximum(ega, egb) + vloc * hh * inv,
                      1.0)
    phi = 0.5 * s_hi + np.sqrt(0.25 * s_hi * s_hi + 1.0)
    mm = (amax + phi * vloc * vloc * inv) * inv
    qq = mm * h2_8
    up = _max4(ga + ega, gb + egb, (ga + ega) + (gpa + egpa) * hh + qq,
               (gb + egb) - (gpb - egpb) * hh + qq)
    lo = _min4(ga - ega, gb - egb, (ga - ega) + (gpa - egpa) * hh - qq,
               (gb - egb) - (gpb + egpb) * hh - qq)
    mh = mm * hh
    clear = up < 0.0
    inside = ~clear & (lo >= 0.0)
    peak = inside & (gpa > 0.0) & (gpb <= 0.0)
    inc = 0.5 * ((gpa - egpa) + (gpb - egpb)) - mh > 0.0
    dec = 0.5 * ((gpa + egpa) + (gpb + egpb)) + mh < 0.0
    sure_a = (ga + ega < 0.0) | (ga - ega >= 0.0)
    sure_b = (gb + egb < 0.0) | (gb - egb >= 0.0)
    rest = ~clear & ~inside
    mono = rest & (inc | dec) & sure_a & sure_b
    root = mono & ((ga >= 0.0) != (gb >= 0.0))
    amb = rest & ~mono
    kind = np.full(ga.shape, -1, dtype=np.int8)
    kind[root & (gb >= 0.0)] = RISE
    kind[root & (gb < 0.0)] = SET
    kind[peak] = PEAK
    kind[amb] = AMBIGUOUS
    tau = np.zeros(ga.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        if root.any():
            tau[root] = _root_tau_np(ga[root], gb[root], gpa[root], gpb[root], hs)
        if peak.any():
            tau[peak] = _peak_tau_np(ga[peak], gb[peak], gpa[peak], gpb[peak], hs)
    return kind, tau


def _screen_numpy(r, v, valid, k_first, geo: Geometry):
    """Events of one block: arrays (s, q, kind, m, tau, eps_v), like the compiled kernel."""
    n, H = geo.n, geo.H
    hs = H / n
    hh = 0.5 * hs
    h2_8 = hs * hs / 8.0
    halfH = 0.5 * H
    idx = np.flatnonzero(valid)
    r = r[idx]
    v = v[idx]
    sat = geo.sat[idx]
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    vx, vy, vz = v[..., 0], v[..., 1], v[..., 2]
    rho = np.sqrt((x * x + y * y) + z * z)
    hx = x / rho
    hy = y / rho
    hz = z / rho
    rd = (vx * hx + vy * hy) + vz * hz
    kh = sat[:, 0:1]
    ecp = sat[:, 1:2]
    out = []
    for q in range(geo.sta.shape[0]):
        gx, gy, gz = geo.sta[q, 6], geo.sta[q, 7], geo.sta[q, 8]
        c = (hx * gx + hy * gy) + hz * gz
        cp = (((vx * gx + vy * gy) + vz * gz) - rd * c) / rho
        up = _max4(c[:, :-1], c[:, 1:], c[:, :-1] + (cp[:, :-1] + ecp) * halfH + kh,
                   c[:, 1:] - (cp[:, 1:] - ecp) * halfH + kh)
        cand = ~(up < geo.cos_lam[idx, q][:, None])
        si, ki = np.nonzero(cand)
        if len(si) == 0:
            continue
        r0, v0, r1, v1 = r[si, ki], v[si, ki], r[si, ki + 1], v[si, ki + 1]
        eps_v = _cell_eps_v_np(r0, v0, r1, v1, H, sat[si, 5])
        b = geo.basis
        rr = np.empty((len(si), n + 1, 3))
        vv = np.empty((len(si), n + 1, 3))
        rr[:, 0], vv[:, 0] = r0, v0
        rr[:, n], vv[:, n] = r1, v1
        if n > 1:
            bj = b[:, 1:n, None]  # (7, n-1, 1)
            a0, w0 = r0[:, None, :], v0[:, None, :]
            a1, w1 = r1[:, None, :], v1[:, None, :]
            rr[:, 1:n] = ((bj[0] * a0 + bj[1] * w0) + bj[2] * a1) + bj[3] * w1
            vv[:, 1:n] = (bj[4] * (a0 - a1) + bj[5] * w0) + bj[6] * w1
        j4 = sat[si, 2][:, None]
        er = j4 * geo.errf[0][None, :] + eps_v[:, None] * geo.errf[1][None, :]
        ev = np.empty((len(si), n + 1))
        ev[:, :] = (sat[si, 6] + eps_v)[:, None]
        ev[:, 0] = eps_v
        ev[:, n] = eps_v
        p = geo.sta[q, 0:3]
        u = geo.sta[q, 3:6]
        dx = rr[..., 0] - p[0]
        dy = rr[..., 1] - p[1]
        dz = rr[..., 2] - p[2]
        wx, wy, wz = vv[..., 0], vv[..., 1], vv[..., 2]
        dn = np.sqrt((dx * dx + dy * dy) + dz * dz)
        inv = 1.0 / dn
        sn = ((dx * u[0] + dy * u[1]) + dz * u[2]) * inv
        dd = ((dx * wx + dy * wy) + dz * wz) * inv
        vu = (wx * u[0] + wy * u[1]) + wz * u[2]
        g = sn - geo.sta[q, 9]
        gp = (vu - sn * dd) * inv
        vmax = sat[si, 3][:, None]
        amax = sat[si, 4][:, None]
        idl = 1.0 / np.maximum(dn - er, D_FLOOR_KM)
        eg = er * idl
        egp = (ev + 3.0 * vmax * er * idl) * idl
        spd = np.sqrt((wx * wx + wy * wy) + wz * wz)
        kind, tau = _classify_np(g[:, :-1], g[:, 1:], gp[:, :-1], gp[:, 1:], dn[:, :-1], dn[:, 1:],
                                 eg[:, :-1], eg[:, 1:], egp[:, :-1], egp[:, 1:],
                                 np.maximum(er[:, :-1], er[:, 1:]), sn[:, :-1], sn[:, 1:],
                                 spd[:, :-1], spd[:, 1:], np.maximum(ev[:, :-1], ev[:, 1:]), amax,
                                 hs, hh, h2_8)
        ci, j = np.nonzero(kind >= 0)
        if len(ci) == 0:
            continue
        kind = kind[ci, j]
        tau = tau[ci, j]
        mj = (k_first + ki[ci]).astype(np.int64) * n + j
        t0 = np.zeros(len(ci))
        go = kind != AMBIGUOUS
        if go.any():
            c = ci[go]
            x = (j[go] + tau[go]) / n
            nq = len(c)
            step = _polish_np(r0[c], v0[c], r1[c], v1[c], x, H, np.broadcast_to(p, (nq, 3)),
                              np.broadcast_to(u, (nq, 3)), geo.sta[q, 9], kind[go] == PEAK)
            t0[go] = _start_time_np(mj[go], n, H, tau[go], step)
        out.append((idx[si[ci]].astype(np.int32), np.full(len(ci), q, dtype=np.int32),
                    kind, mj, t0, eps_v[ci]))
    if not out:
        return _no_events()
    return tuple(np.concatenate(parts) for parts in zip(*out))


def _no_events():
    return (np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.int8),
            np.empty(0, np.int64), np.empty(0), np.empty(0))


def _buffers(cap):
    return (np.empty(cap, np.int32), np.empty(cap, np.int32), np.empty(cap, np.int8),
            np.empty(cap, np.int64), np.empty(cap), np.empty(cap))


_BUFFERS = _buffers(1 << 15)  # the compiled kernel's output, grown when too small


def screen(r, v, valid, k_first, geo: Geometry, kernel: str):
    """Events of one block of cells: (sat, station, kind, sub-step index m, start time,
    eps_v).  The two kernels list them in different orders; nothing downstream depends
    on the order."""
    if kernel == "numba":
        global _BUFFERS
        while True:
            outs = _BUFFERS
            count = compiled().screen(r, v, valid, k_first, geo.n, geo.H, geo.basis, geo.errf,
                                      geo.sat, geo.sta, geo.cos_lam, *outs)
            if count <= len(outs[0]):
                return tuple(o[:count].copy() for o in outs)
            _BUFFERS = _buffers(2 * count)
    return _screen_numpy(r, v, valid, k_first, geo)


def warm_up(kernel: str) -> None:
    """Load (or compile) the compiled kernel now, e.g. before forking workers."""
    if kernel != "numba":
        return
    from .stations import GroundStation

    st = StationArrays.of([GroundStation("warm", 0.0, 0.0, min_elevation_deg=10.0)])
    b = {k: np.ones(1) for k in ("rho_lo", "rho_hi", "v_max", "a_max", "k_rhat", "j4", "j5")}
    geo = make_geometry(b, st, 240.0)
    r = np.full((1, 2, 3), 7000.0)
    v = np.ones((1, 2, 3))
    r, v, _ = grid_ecef(r, v, np.zeros(2), b, "numba")
    screen(r, v, np.ones(1, dtype=np.bool_), 0, geo, "numba")


# ---------------------------------------------------------------------------
# Exact SGP4 states at arbitrary (satellite, time) pairs


class Propagator:
    """SGP4 in the Earth-fixed frame for one chunk of satellites, at any times."""

    def __init__(self, satrecs, clock: EarthClock):
        self.satrecs = satrecs
        self.clock = clock
        self.failed: set[int] = set()

    def grid(self, arr: SatrecArray, t: np.ndarray, bounds, kernel):
        """Earth-fixed states on grid times ``t``, SGP4 error flags and bound violations."""
        jd, fr, gmst = self.clock.angles(t)
        err, r_teme, v_teme = arr.sgp4(jd, fr)
        r, v, out = grid_ecef(r_teme, v_teme, gmst, bounds, kernel)
        return (err != 0).any(axis=1), out, r, v

    def states(self, sat: np.ndarray, t: np.ndarray):
        """Earth-fixed r, v (n, 3) of satellites ``sat`` (chunk indices) at times ``t``:
        one SGP4 call per satellite (fastest when ``sat`` comes sorted)."""
        n = len(sat)
        if n == 0:
            return np.empty((0, 3)), np.empty((0, 3))
        order = None
        if n > 1 and (sat[1:] < sat[:-1]).any():
            order = np.argsort(sat, kind="stable")
            sat, t = sat[order], t[order]
        jd, fr, gmst = self.clock.angles(t)
        cuts = np.flatnonzero(sat[1:] != sat[:-1]) + 1
        starts = [0, *cuts.tolist()]
        ends = [*cuts.tolist(), n]
        rs = np.empty((n, 3))
        vs = np.empty((n, 3))
        err = np.zeros(n, dtype=np.uint8)
        recs = self.satrecs
        direct = hasattr(recs[0], "_sgp4")
        for i, a, b in zip(sat[starts].tolist(), starts, ends):
            if direct:  # what Satrec.sgp4_array does, writing into our arrays
                recs[i]._sgp4(jd[a:b], fr[a:b], err[a:b], rs[a:b], vs[a:b])
            else:  # pragma: no cover - another sgp4 build
                err[a:b], rs[a:b], vs[a:b] = recs[i].sgp4_array(jd[a:b], fr[a:b])
        if err.any():
            self.failed.update(int(i) for i in np.unique(sat[err != 0]))
        r, v = teme_to_ecef(rs, vs, gmst)
        if order is None:
            return r, v
        out_r = np.empty_like(r)
        out_v = np.empty_like(v)
        out_r[order] = r
        out_v[order] = v
        return out_r, out_v


def g_terms(r, v, p, u, sin_m):
    """``g = sin(el) - sin(mask)``, ``g'``, range, ``sin(el)`` and range rate, for (n, 3)
    states against per-row station vectors -- the kernels' formulas."""
    dx = r[:, 0] - p[:, 0]
    dy = r[:, 1] - p[:, 1]
    dz = r[:, 2] - p[:, 2]
    wx, wy, wz = v[:, 0], v[:, 1], v[:, 2]
    dn = np.sqrt((dx * dx + dy * dy) + dz * dz)
    inv = 1.0 / dn
    sn = ((dx * u[:, 0] + dy * u[:, 1]) + dz * u[:, 2]) * inv
    dd = ((dx * wx + dy * wy) + dz * wz) * inv
    vu = (wx * u[:, 0] + wy * u[:, 1]) + wz * u[:, 2]
    return sn - sin_m, (vu - sn * dd) * inv, dn, sn, dd


def g_second(r, v, acc, p, u, sin_m):
    """``g``, ``g'`` and ``g''`` (with the acceleration ``acc``, (n, 3))."""
    g, gp, dn, sn, dd = g_terms(r, v, p, u, sin_m)
    dx = r[:, 0] - p[:, 0]
    dy = r[:, 1] - p[:, 1]
    dz = r[:, 2] - p[:, 2]
    ax, ay, az = acc[:, 0], acc[:, 1], acc[:, 2]
    au = (ax * u[:, 0] + ay * u[:, 1]) + az * u[:, 2]
    vv = (v[:, 0] * v[:, 0] + v[:, 1] * v[:, 1]) + v[:, 2] * v[:, 2]
    da = (dx * ax + dy * ay) + dz * az
    ddd = (vv - dd * dd + da) / dn
    return g, gp, (au - ddd * sn - 2.0 * dd * gp) / dn


def accel(r, v):
    """(n, 3) force-model acceleration (see :func:`_accel`)."""
    return np.stack(_accel_np(r[:, 0], r[:, 1], r[:, 2], v[:, 0], v[:, 1]), axis=-1)


class _Evaluator:
    """g, g' (and g'') of chunk satellites against stations at arbitrary times, from SGP4."""

    def __init__(self, prop: Propagator, st: StationArrays):
        self.prop = prop
        self.st = st

    def __call__(self, s, q, t, second=None):
        """``(g, g', range)``; with ``second`` (a bool array), ``(g, g', g'')`` where
        ``g''`` is computed only where ``second`` is true (NaN elsewhere)."""
        r, v = self.prop.states(s, t)
        st = self.st
        if second is None:
            g, gp, dn, _, _ = g_terms(r, v, st.p[q], st.u[q], st.sin_mask[q])
            return g, gp, dn
        if second is True:  # (g, g', range, sin(el), speed), for the exact resolution
            g, gp, dn, sn, _ = g_terms(r, v, st.p[q], st.u[q], st.sin_mask[q])
            speed = np.sqrt((v[:, 0] * v[:, 0] + v[:, 1] * v[:, 1]) + v[:, 2] * v[:, 2])
            return g, gp, dn, sn, speed
        g, gp, _, _, _ = g_terms(r, v, st.p[q], st.u[q], st.sin_mask[q])
        gpp = np.full(len(s), np.nan)
        if second.any():
            i = second
            _, _, gpp[i] = g_second(r[i], v[i], accel(r[i], v[i]), st.p[q[i]], st.u[q[i]],
                                    st.sin_mask[q[i]])
        return g, gp, gpp


# ---------------------------------------------------------------------------
# Exact resolution of ambiguous sub-steps, and refinement


def resolve_ambiguous(ev: _Evaluator, geo: Geometry, s, q, a, b, eps_v):
    """Bisect ambiguous sub-steps on SGP4 values until every piece is provably clear,
    visible throughout or monotone (or shorter than :data:`H_MIN_S`).  The bounds are
    the screening's with exact end values (the only error left: SGP4's velocity
    against the derivative of its positions, ``eps_v``).  Returns root brackets
    (s, q, a, b, rising, guess) and peak brackets (s, q, a, b, guess)."""
    roots, peaks = [], []
    nn = len(s)
    both = ev(np.concatenate([s, s]), np.concatenate([q, q]), np.concatenate([a, b]), second=True)
    A = [x[:nn] for x in both]  # g, g', range, sin(el), speed at the left ends
    B = [x[nn:] for x in both]  # ... at the right ends
    amax = geo.sat[s, 4]
    while len(s):
        ga, gpa, dna, sa, va = A
        gb, gpb, dnb, sb, vb = B
        hs = b - a
        hh = 0.5 * hs
        egpa = eps_v / np.maximum(dna, D_FLOOR_KM)
        egpb = eps_v / np.maximum(dnb, D_FLOOR_KM)
        vloc = np.maximum(va, vb) + eps_v + amax * hh
        inv = 1.0 / np.maximum(0.5 * (dna + dnb) - vloc * hh, D_FLOOR_KM)
        s_hi = np.minimum(np.maximum(np.abs(sa), np.abs(sb)) + vloc * hh * inv, 1.0)
        phi = 0.5 * s_hi + np.sqrt(0.25 * s_hi * s_hi + 1.0)
        mm = (amax + phi * vloc * vloc * inv) * inv
        qq = mm * hs * hs / 8.0
        mh = mm * hh
        up = _max4(ga, gb, ga + (gpa + egpa) * hh + qq, gb - (gpb - egpb) * hh + qq)
        lo = _min4(ga, gb, ga + (gpa - egpa) * hh - qq, gb - (gpb + egpb) * hh - qq)
        clear = up < 0.0
        inside = ~clear & (lo >= 0.0)
        turn = (gpa > 0.0) & (gpb <= 0.0)
        inc = 0.5 * ((gpa - egpa) + (gpb - egpb)) - mh > 0.0
        dec = 0.5 * ((gpa + egpa) + (gpb + egpb)) + mh < 0.0
        rest = ~clear & ~inside
        mono = rest & (inc | dec)
        tiny = rest & ~mono & (hs <= H_MIN_S)
        change = (ga >= 0.0) != (gb >= 0.0)
        is_root = (mono | tiny) & change
        is_peak = (inside | tiny) & turn
        with np.errstate(divide="ignore", invalid="ignore"):
            if is_root.any():
                i = is_root
                tau = _root_tau_np(ga[i], gb[i], gpa[i], gpb[i], hs[i])
                roots.append((s[i], q[i], a[i], b[i], gb[i] >= 0.0, a[i] + tau * hs[i]))
            if is_peak.any():
                i = is_peak
                tau = _peak_tau_np(ga[i], gb[i], gpa[i], gpb[i], hs[i])
                peaks.append((s[i], q[i], a[i], b[i], a[i] + tau * hs[i]))
        split = rest & ~mono & ~tiny
        if not split.any():
            break
        s, q, a, b, eps_v, amax = s[split], q[split], a[split], b[split], eps_v[split], amax[split]
        A = [x[split] for x in A]
        B = [x[split] for x in B]
        mid = 0.5 * (a + b)
        M = ev(s, q, mid, second=True)
        s, q = np.concatenate([s, s]), np.concatenate([q, q])
        eps_v, amax = np.concatenate([eps_v, eps_v]), np.concatenate([amax, amax])
        a, b = np.concatenate([a, mid]), np.concatenate([mid, b])
        A = [np.concatenate([x, m]) for x, m in zip(A, M)]
        B = [np.concatenate([m, x]) for x, m in zip(B, M)]
    return roots, peaks


def refine(ev: _Evaluator, geo: Geometry, s, q, a, b, kind, t):
    """Rise, set and culmination times on SGP4, all events in one loop (one SGP4 call
    per satellite per iteration).

    Roots (``kind`` RISE/SET): Newton steps on ``g``, kept inside the bracket
    ``[a, b]`` whose end signs are known (bisection when a step leaves it), until a
    step is below :data:`ROOT_TOL_S`; that last step is applied, leaving the root
    good to ~1e-7 s.  Peaks: Newton steps on ``g'`` (``g''`` from a force model)
    inside the sub-step widened by one sub-step each side, until a step is below
    :data:`PEAK_TOL_S`; the peak value is the SGP4 value plus the Newton correction.
    Deterministic: every result depends on its own event's data only.
    Returns (time, g) -- g at the time for peaks, NaN for roots.
    """
    n = len(s)
    hs = geo.H / geo.n
    peak = kind == PEAK
    rising = kind == RISE
    lo = np.where(peak, a - hs, a)
    hi = np.where(peak, b + hs, b)
    t = t.copy()
    out_t = np.full(n, np.nan)
    out_g = np.full(n, np.nan)
    act = np.arange(n)
    for _ in range(_MAX_NEWTON):
        if len(act) == 0:
            break
        ta = t[act]
        pk = peak[act]
        g, gp, gpp = ev(s[act], q[act], ta, second=pk)
        # Bracket update: roots by the sign of g, peaks by the sign of g'.
        after = np.where(pk, gp > 0.0, (g >= 0.0) != rising[act])  # the target is after ta
        lo[act] = np.where(after, ta, lo[act])
        hi[act] = np.where(after, hi[act], ta)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(pk, -gp / gpp, -g / gp)
        tn = ta + step
        inb = np.isfinite(tn) & (tn > lo[act]) & (tn < hi[act]) & (~pk | (gpp < 0.0))
        tol = np.where(pk, PEAK_TOL_S, ROOT_TOL_S)
        small = hi[act] - lo[act] <= tol
        done = (inb & (np.abs(step) <= tol)) | small
        tn = np.where(inb, tn, np.where(small & pk, ta, 0.5 * (lo[act] + hi[act])))
        gn = np.where(inb, g + 0.5 * gp * step, g)
        t[act] = tn
        d = act[done]
        out_t[d] = tn[done]
        out_g[d] = gn[done]
        act = act[~done]
    if len(act):  # not converged (never seen): the last iterate
        g, _, _ = ev(s[act], q[act], t[act])
        out_t[act] = t[act]
        out_g[act] = g
    return out_t, out_g


# ---------------------------------------------------------------------------
# One chunk of satellites: grid, screening, refinement, windows


@dataclass
class ChunkWindows:
    """Windows of one chunk, as arrays (``sat`` indexes the chunk)."""

    sat: np.ndarray
    station: np.ndarray
    rise: np.ndarray
    set: np.ndarray
    culm: np.ndarray
    max_el_deg: np.ndarray
    open_start: np.ndarray
    open_end: np.ndarray
    excluded: list  # (chunk index, reason)


def search_chunk(satrecs, st: StationArrays, clock: EarthClock, H: float, T: float,
                 kernel: str) -> ChunkWindows:
    """All windows of ``satrecs`` x stations in ``[0, T]`` (seconds from the clock's start)."""
    S = len(satrecs)
    Q = len(st.names)
    bounds = satellite_bounds(satrecs)
    geo = make_geometry(bounds, st, H)
    n = geo.n
    n_cells = max(1, int(math.ceil(T / H - 1e-9)))
    prop = Propagator(satrecs, clock)
    arr = SatrecArray(list(satrecs))
    valid = np.ones(S, dtype=np.bool_)
    excluded: dict[int, str] = {}
    simple, ambiguous = [], []
    g_start = None
    for k0 in range(0, n_cells, BLOCK_CELLS):
        k1 = min(k0 + BLOCK_CELLS, n_cells)
        bad, out, r, v = prop.grid(arr, sub_time(np.arange(k0, k1 + 1) * n, H, n), bounds, kernel)
        for i in np.flatnonzero(bad):
            excluded[int(i)] = "sgp4"  # takes precedence over "bounds"
        out &= ~bad & valid
        for i in np.flatnonzero(out):
            excluded[int(i)] = "bounds"
        valid &= ~bad & ~out
        if k0 == 0:
            qq = np.tile(np.arange(Q), S)
            g_start = g_terms(np.repeat(r[:, 0], Q, axis=0), np.repeat(v[:, 0], Q, axis=0),
                              st.p[qq], st.u[qq], st.sin_mask[qq])[0].reshape(S, Q)
        if not valid.any():
            continue
        r = np.ascontiguousarray(r)
        v = np.ascontiguousarray(v)
        es, eq, kind, m, tau, eps_v = screen(r, v, valid, k0, geo, kernel)
        amb = kind == AMBIGUOUS
        ambiguous.append((es[amb], eq[amb], m[amb], eps_v[amb]))
        ok = ~amb
        simple.append((es[ok], eq[ok], kind[ok], m[ok], tau[ok]))
        del r, v
    ev = _Evaluator(prop, st)
    if simple:
        es, eq, kind, m, t0 = (np.concatenate(x) for x in zip(*simple))
        xs, xq, xm, xeps = (np.concatenate(x) for x in zip(*ambiguous))
    else:
        es = eq = m = xs = xq = xm = np.empty(0, np.int64)
        kind = np.empty(0, np.int8)
        t0 = xeps = np.empty(0)
    keep = valid[es]
    es, eq, kind, m, t0 = es[keep].astype(np.int64), eq[keep].astype(np.int64), kind[keep], m[keep], t0[keep]
    keep = valid[xs]
    xs, xq, xm, xeps = xs[keep].astype(np.int64), xq[keep].astype(np.int64), xm[keep], xeps[keep]

    # Ambiguous sub-steps: exact resolution on SGP4.
    x_roots, x_peaks = resolve_ambiguous(ev, geo, xs, xq, sub_time(xm, H, n), sub_time(xm + 1, H, n),
                                         xeps)
    ls, lq, la, lb, lk, lt = [es], [eq], [sub_time(m, H, n)], [sub_time(m + 1, H, n)], [kind], [t0]
    for s_, q_, a_, b_, up_, t_ in x_roots:
        ls.append(s_), lq.append(q_), la.append(a_), lb.append(b_), lt.append(t_)
        lk.append(np.where(up_, RISE, SET).astype(np.int8))
    for s_, q_, a_, b_, t_ in x_peaks:
        ls.append(s_), lq.append(q_), la.append(a_), lb.append(b_), lt.append(t_)
        lk.append(np.full(len(s_), PEAK, np.int8))
    es, eq, ea, eb, kind, t0 = (np.concatenate(x) for x in (ls, lq, la, lb, lk, lt))
    by_sat = np.argsort(es, kind="stable")  # one SGP4 call per satellite per iteration
    es, eq, ea, eb, kind, t0 = (x[by_sat] for x in (es, eq, ea, eb, kind, t0))
    t_ev, g_ev = refine(ev, geo, es, eq, ea, eb, kind, t0)

    rt = kind != PEAK
    w = _pair(S, Q, valid, g_start, es[rt], eq[rt], t_ev[rt], kind[rt] == RISE, T)
    wsat, wq, wr, wset, wos, woe = w
    pk = ~rt
    culm, gmax = _culminations(ev, st, g_start, T, wsat, wq, wr, wset, wos, woe,
                               es[pk], eq[pk], t_ev[pk], g_ev[pk])
    if prop.failed:  # an SGP4 error between good grid points (never seen): left out
        for i in prop.failed:
            excluded[i] = "sgp4"
        keep = ~np.isin(wsat, np.array(sorted(prop.failed)))
        wsat, wq, wr, wset, wos, woe, culm, gmax = (x[keep] for x in (wsat, wq, wr, wset, wos,
                                                                        woe, culm, gmax))
    max_el = np.degrees(np.arcsin(np.clip(gmax + st.sin_mask[wq], -1.0, 1.0)))
    return ChunkWindows(wsat.astype(np.int32), wq.astype(np.int16), wr, wset, culm, max_el,
                        wos, woe, sorted(excluded.items()))


def _pair(S, Q, valid, g_start, rs, rq, rt, rising, T):
    """Windows from rise/set events: a rise at -inf stands for 'visible at the start'."""
    vis = (g_start >= 0.0) & valid[:, None]
    vs, vq = np.nonzero(vis)
    pair = np.concatenate([vs * Q + vq, rs * Q + rq]).astype(np.int64)
    t = np.concatenate([np.full(len(vs), -np.inf), rt])
    up = np.concatenate([np.ones(len(vs), bool), rising])
    order = np.lexsort((t, pair))
    pair, t, up = pair[order], t[order], up[order]
    first = np.ones(len(pair), bool)
    first[1:] = pair[1:] != pair[:-1]
    ok = np.where(first, up, up != np.roll(up, 1))
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        raise RuntimeError(f"contact search: rise/set events out of order for satellite index "
                           f"{pair[bad] // Q}, station index {pair[bad] % Q} at t = {t[bad]:.3f} s; "
                           "please report this with the TLE and station")
    ri = np.flatnonzero(up)
    nxt = ri + 1
    has_set = nxt < len(pair)
    has_set[has_set] = pair[nxt[has_set]] == pair[ri[has_set]]
    rise = t[ri]
    set_ = np.full(len(ri), np.inf)
    set_[has_set] = t[nxt[has_set]]
    open_start = rise == -np.inf
    rise = np.where(open_start, 0.0, rise)
    keep = rise < T
    ri, rise, set_, open_start = ri[keep], rise[keep], set_[keep], open_start[keep]
    open_end = set_ > T
    set_ = np.where(open_end, T, set_)
    return pair[ri] // Q, pair[ri] % Q, rise, set_, open_start, open_end


def _culminations(ev, st, g_start, T, wsat, wq, wr, wset, wos, woe, ps, pq, pt, pg):
    nw = len(wsat)
    if nw == 0:
        return np.empty(0), np.empty(0)
    Q = len(st.names)
    wpair = wsat * Q + wq
    # Assign refined peaks to windows (sorted by pair, then rise): the last window of the
    # same pair rising before the peak, found with a (pair, time) key; then checked exactly.
    ok = np.isfinite(pt)
    ppair = (ps * Q + pq)[ok]
    pt, pg = pt[ok], pg[ok]
    span = float(T) + 1e4
    wkey = wpair * span + wr
    wk = np.searchsorted(wkey, ppair * span + pt, side="right") - 1
    wk = np.maximum(wk, 0)
    inside = (wpair[wk] == ppair) & (pt >= wr[wk]) & (pt <= wset[wk])
    cw = [wk[inside]]
    ct = [pt[inside]]
    cg = [pg[inside]]
    # Clipped ends.
    i = np.flatnonzero(wos)
    cw.append(i), ct.append(np.zeros(len(i))), cg.append(g_start[wsat[i], wq[i]])
    i = np.flatnonzero(woe)
    if len(i):
        g_end, _, _ = ev(wsat[i], wq[i], np.full(len(i), float(T)))
        cw.append(i), ct.append(np.full(len(i), float(T))), cg.append(g_end)
    cw, ct, cg = np.concatenate(cw), np.concatenate(ct), np.concatenate(cg)
    has = np.zeros(nw, dtype=bool)
    has[cw] = True
    missing = np.flatnonzero(~has)
    if len(missing):  # a window too short to hold a refined peak: its middle
        tm = 0.5 * (wr[missing] + wset[missing])
        gm, _, _ = ev(wsat[missing], wq[missing], tm)
        cw, ct, cg = np.concatenate([cw, missing]), np.concatenate([ct, tm]), np.concatenate([cg, gm])
    order = np.lexsort((-ct, cg, cw))  # per window: highest g last (earliest on ties)
    cw, ct, cg = cw[order], ct[order], cg[order]
    last = np.ones(len(cw), bool)
    last[:-1] = cw[1:] != cw[:-1]
    culm = np.empty(nw)
    gmax = np.empty(nw)
    culm[cw[last]] = ct[last]
    gmax[cw[last]] = cg[last]
    return culm, gmax

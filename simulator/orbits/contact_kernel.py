"""The compiled screening kernel of :mod:`simulator.orbits.contact_search` (numba).

Importing this module needs numba; :mod:`~simulator.orbits.contact_search` imports it
only for jobs large enough to repay the compiler's start-up, and otherwise -- or
without numba -- runs its numpy version of the same step.  The two must compute the
same numbers: every expression here has its twin there (``_classify`` and
``_classify_np``, ``_polish`` and ``_polish_np``, ...) with the same operations in the
same order -- additions, products, quotients and square roots only, no fused or
reassociated arithmetic (numba's default, without ``fastmath``) -- and the tests
check that both give bit-identical events and windows.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# The constants of contact_search, repeated here on purpose: numba freezes them into
# the compiled code, and its on-disk cache is invalidated by changes to *this* file
# only.  tests/test_contacts.py checks that both lists agree.
MU_KM3_S2 = 398600.8
RE_KM = 6378.135
J2 = 1.082616e-3
OMEGA_E = 7.292115146706979e-5
D_FLOOR_KM = 1.0
EPS_V_BASE = 1e-4
RISE, SET, PEAK, AMBIGUOUS = 0, 1, 2, 3

def _screen_scalar(r, v, valid, k_first, n, H, basis, errf, sat, sta, cos_lam,
                   out_s, out_q, out_kind, out_m, out_tau, out_eps):
    S = r.shape[0]
    P = r.shape[1]
    Q = sta.shape[0]
    cap = out_s.shape[0]
    halfH = 0.5 * H
    hs = H / n
    hh = 0.5 * hs
    h2_8 = hs * hs / 8.0
    c = np.empty((P, Q))
    cp = np.empty((P, Q))
    sub = np.empty((n + 1, 6))
    er = np.empty(n + 1)
    ev = np.empty(n + 1)
    gj = np.empty(n + 1)
    gpj = np.empty(n + 1)
    dnj = np.empty(n + 1)
    egj = np.empty(n + 1)
    egpj = np.empty(n + 1)
    snj = np.empty(n + 1)
    spd = np.empty(n + 1)
    count = 0
    for s in range(S):
        if not valid[s]:
            continue
        kh = sat[s, 0]
        ecp = sat[s, 1]
        j4 = sat[s, 2]
        vmax = sat[s, 3]
        amax = sat[s, 4]
        slack = sat[s, 5]
        evh = sat[s, 6]
        for i in range(P):
            x = r[s, i, 0]
            y = r[s, i, 1]
            z = r[s, i, 2]
            vx = v[s, i, 0]
            vy = v[s, i, 1]
            vz = v[s, i, 2]
            rho = math.sqrt((x * x + y * y) + z * z)
            hx = x / rho
            hy = y / rho
            hz = z / rho
            rd = (vx * hx + vy * hy) + vz * hz
            for q in range(Q):
                gx = sta[q, 6]
                gy = sta[q, 7]
                gz = sta[q, 8]
                cq = (hx * gx + hy * gy) + hz * gz
                c[i, q] = cq
                cp[i, q] = (((vx * gx + vy * gy) + vz * gz) - rd * cq) / rho
        for k in range(P - 1):
            have_sub = False
            eps_v = 0.0
            for q in range(Q):
                c0 = c[k, q]
                c1 = c[k + 1, q]
                up = max(c0, c1, c0 + (cp[k, q] + ecp) * halfH + kh,
                         c1 - (cp[k + 1, q] - ecp) * halfH + kh)
                if up < cos_lam[s, q]:
                    continue
                if not have_sub:
                    have_sub = True
                    eps_v = _cell_eps_v(r[s, k, 0], r[s, k, 1], r[s, k, 2],
                                        v[s, k, 0], v[s, k, 1], v[s, k, 2],
                                        r[s, k + 1, 0], r[s, k + 1, 1], r[s, k + 1, 2],
                                        v[s, k + 1, 0], v[s, k + 1, 1], v[s, k + 1, 2],
                                        H, slack)
                    for j in range(n + 1):
                        if j == 0:
                            for a in range(3):
                                sub[j, a] = r[s, k, a]
                                sub[j, 3 + a] = v[s, k, a]
                        elif j == n:
                            for a in range(3):
                                sub[j, a] = r[s, k + 1, a]
                                sub[j, 3 + a] = v[s, k + 1, a]
                        else:
                            for a in range(3):
                                r0 = r[s, k, a]
                                v0 = v[s, k, a]
                                r1 = r[s, k + 1, a]
                                v1 = v[s, k + 1, a]
                                sub[j, a] = ((basis[0, j] * r0 + basis[1, j] * v0)
                                             + basis[2, j] * r1) + basis[3, j] * v1
                                sub[j, 3 + a] = (basis[4, j] * (r0 - r1) + basis[5, j] * v0) \
                                    + basis[6, j] * v1
                        spd[j] = math.sqrt((sub[j, 3] * sub[j, 3] + sub[j, 4] * sub[j, 4])
                                           + sub[j, 5] * sub[j, 5])
                        er[j] = j4 * errf[0, j] + eps_v * errf[1, j]
                        if j == 0 or j == n:
                            ev[j] = eps_v
                        else:
                            ev[j] = evh + eps_v
                px = sta[q, 0]
                py = sta[q, 1]
                pz = sta[q, 2]
                ux = sta[q, 3]
                uy = sta[q, 4]
                uz = sta[q, 5]
                sin_m = sta[q, 9]
                for j in range(n + 1):
                    dx = sub[j, 0] - px
                    dy = sub[j, 1] - py
                    dz = sub[j, 2] - pz
                    wx = sub[j, 3]
                    wy = sub[j, 4]
                    wz = sub[j, 5]
                    dn = math.sqrt((dx * dx + dy * dy) + dz * dz)
                    inv = 1.0 / dn
                    sn = ((dx * ux + dy * uy) + dz * uz) * inv
                    dd = ((dx * wx + dy * wy) + dz * wz) * inv
                    vu = (wx * ux + wy * uy) + wz * uz
                    gj[j] = sn - sin_m
                    gpj[j] = (vu - sn * dd) * inv
                    dnj[j] = dn
                    snj[j] = sn
                    idl = 1.0 / max(dn - er[j], D_FLOOR_KM)
                    egj[j] = er[j] * idl
                    egpj[j] = (ev[j] + 3.0 * vmax * er[j] * idl) * idl
                for j in range(n):
                    kind, tau = _classify(gj[j], gj[j + 1], gpj[j], gpj[j + 1], dnj[j], dnj[j + 1],
                                          egj[j], egj[j + 1], egpj[j], egpj[j + 1],
                                          max(er[j], er[j + 1]), snj[j], snj[j + 1], spd[j],
                                          spd[j + 1], max(ev[j], ev[j + 1]), amax, hs, hh, h2_8)
                    if kind < 0:
                        continue
                    if count < cap:
                        mj = (k_first + k) * n + j
                        out_s[count] = s
                        out_q[count] = q
                        out_kind[count] = kind
                        out_m[count] = mj
                        if kind == AMBIGUOUS:
                            out_tau[count] = 0.0
                        else:
                            x = (j + tau) / n
                            step = _polish(r, v, s, k, x, H, px, py, pz, ux, uy, uz, sin_m,
                                           kind == PEAK)
                            out_tau[count] = _start_time(mj, n, H, tau, step)
                        out_eps[count] = eps_v
                    count += 1
    return count


def _grid_ecef_scalar(r_teme, v_teme, c, sn, rho_lo, rho_hi, vmax, r, v, bad):
    """TEME -> Earth-fixed on the grid (the formula of :func:`frames.teme_to_ecef`), and
    the per-satellite check of radius and speed against the element bounds."""
    w = OMEGA_E
    for i in range(r_teme.shape[0]):
        for k in range(r_teme.shape[1]):
            x = r_teme[i, k, 0]
            y = r_teme[i, k, 1]
            z = r_teme[i, k, 2]
            ck = c[k]
            sk = sn[k]
            rx = ck * x + sk * y
            ry = -sk * x + ck * y
            vx = (ck * v_teme[i, k, 0] + sk * v_teme[i, k, 1]) + w * ry
            vy = (-sk * v_teme[i, k, 0] + ck * v_teme[i, k, 1]) - w * rx
            vz = v_teme[i, k, 2]
            r[i, k, 0] = rx
            r[i, k, 1] = ry
            r[i, k, 2] = z
            v[i, k, 0] = vx
            v[i, k, 1] = vy
            v[i, k, 2] = vz
            rho = math.sqrt((rx * rx + ry * ry) + z * z)
            speed = math.sqrt((vx * vx + vy * vy) + vz * vz)
            if not (rho >= rho_lo[i] and rho <= rho_hi[i] and speed <= vmax[i]):
                bad[i] = True


def _cell_eps_v(x0, y0, z0, vx0, vy0, vz0, x1, y1, z1, vx1, vy1, vz1, H, slack):
    """Bound on the mismatch between SGP4's velocities and the derivative of its
    positions over one cell: the corrected-trapezoid residual
    ``r1 - r0 - H/2 (v0 + v1) + H^2/12 (a1 - a0)`` (a force model for ``a``), whose
    exact-trajectory part is bounded by ``slack``, divided by ``H``."""
    ax0, ay0, az0 = _accel(x0, y0, z0, vx0, vy0)
    ax1, ay1, az1 = _accel(x1, y1, z1, vx1, vy1)
    hH = 0.5 * H
    c12 = H * H / 12.0
    rx = ((x1 - x0) - hH * (vx0 + vx1)) + c12 * (ax1 - ax0)
    ry = ((y1 - y0) - hH * (vy0 + vy1)) + c12 * (ay1 - ay0)
    rz = ((z1 - z0) - hH * (vz0 + vz1)) + c12 * (az1 - az0)
    res = math.sqrt((rx * rx + ry * ry) + rz * rz)
    return (res + slack) / H + EPS_V_BASE


def _accel(x, y, z, vx, vy):
    """Earth-fixed acceleration: point mass + J2 + centrifugal + Coriolis (km/s^2)."""
    rho2 = (x * x + y * y) + z * z
    rho = math.sqrt(rho2)
    f = MU_KM3_S2 / (rho2 * rho)
    zz = z * z / rho2
    j = 1.5 * J2 * RE_KM * RE_KM / rho2
    w = OMEGA_E
    ax = (-f * x) * (1.0 + j * (1.0 - 5.0 * zz)) + (2.0 * w * vy + w * w * x)
    ay = (-f * y) * (1.0 + j * (1.0 - 5.0 * zz)) + (w * w * y - 2.0 * w * vx)
    az = (-f * z) * (1.0 + j * (3.0 - 5.0 * zz))
    return ax, ay, az


def _classify(ga, gb, gpa, gpb, dna, dnb, ega, egb, egpa, egpb, er2, sa, sb, spa, spb, ev2,
              amax, hs, hh, h2_8):
    """One sub-step: (-1, 0) clear or uneventful; (RISE|SET, tau) one root with its
    Hermite estimate; (PEAK, tau) a culmination inside a visible stretch; (AMBIGUOUS, 0).

    ``ega``/``egb`` bound the interpolation error of g at the ends, ``egpa``/``egpb``
    that of g', ``er2`` the larger position error (km); ``sa``/``sb`` are the sines of
    the elevation and ``spa``/``spb`` the speeds at the ends, ``ev2`` the larger speed
    error.  ``|g''| <= |a|/d + phi(s) v^2/d^2`` with ``d``, ``v``, ``|sin el| <= s``
    bounded over the sub-step from its ends and ``phi(s) = s/2 + sqrt(1 + s^2/4)``."""
    vloc = max(spa, spb) + ev2 + amax * hh
    dcell = max(0.5 * (dna + dnb) - vloc * hh - er2, D_FLOOR_KM)
    inv = 1.0 / dcell
    s_hi = min(max(abs(sa), abs(sb)) + max(ega, egb) + vloc * hh * inv, 1.0)
    phi = 0.5 * s_hi + math.sqrt(0.25 * s_hi * s_hi + 1.0)
    mm = (amax + phi * vloc * vloc * inv) * inv
    qq = mm * h2_8
    up = max(ga + ega, gb + egb, (ga + ega) + (gpa + egpa) * hh + qq,
             (gb + egb) - (gpb - egpb) * hh + qq)
    if up < 0.0:
        return -1, 0.0
    lo = min(ga - ega, gb - egb, (ga - ega) + (gpa - egpa) * hh - qq,
             (gb - egb) - (gpb + egpb) * hh - qq)
    if lo >= 0.0:
        if gpa > 0.0 and gpb <= 0.0:
            return PEAK, _peak_tau(ga, gb, gpa, gpb, hs)
        return -1, 0.0
    mh = mm * hh
    inc = 0.5 * ((gpa - egpa) + (gpb - egpb)) - mh > 0.0
    dec = 0.5 * ((gpa + egpa) + (gpb + egpb)) + mh < 0.0
    sure_a = (ga + ega < 0.0) or (ga - ega >= 0.0)
    sure_b = (gb + egb < 0.0) or (gb - egb >= 0.0)
    if (inc or dec) and sure_a and sure_b:
        if (ga >= 0.0) != (gb >= 0.0):
            if gb >= 0.0:
                return RISE, _root_tau(ga, gb, gpa, gpb, hs)
            return SET, _root_tau(ga, gb, gpa, gpb, hs)
        return -1, 0.0
    return AMBIGUOUS, 0.0


def _polish(r, v, s, k, x, H, px, py, pz, ux, uy, uz, sin_m, peak):
    """A Newton step (seconds) for the root of g (or of g' at a ``peak``) on the quintic
    Hermite interpolant of cell ``k`` of satellite ``s`` (positions, SGP4 velocities
    and force-model accelerations at both ends: ~1 m) at cell fraction ``x``."""
    ax0, ay0, az0 = _accel(r[s, k, 0], r[s, k, 1], r[s, k, 2], v[s, k, 0], v[s, k, 1])
    ax1, ay1, az1 = _accel(r[s, k + 1, 0], r[s, k + 1, 1], r[s, k + 1, 2], v[s, k + 1, 0],
                           v[s, k + 1, 1])
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
    out = np.empty(9)
    for c in range(3):
        r0 = r[s, k, c]
        v0 = v[s, k, c]
        r1 = r[s, k + 1, c]
        v1 = v[s, k + 1, c]
        if c == 0:
            a0, a1 = ax0, ax1
        elif c == 1:
            a0, a1 = ay0, ay1
        else:
            a0, a1 = az0, az1
        out[c] = ((((h0 * r0 + h1 * v0) + h2 * a0) + h3 * a1) + h4 * v1) + h5 * r1
        out[3 + c] = (((d0 * (r0 - r1) + d1 * v0) + d4 * v1) + d2 * a0) + d3 * a1
        out[6 + c] = (((s0 * (r0 - r1) + s1 * v0) + s4 * v1) + s2 * a0) + s3 * a1
    dx = out[0] - px
    dy = out[1] - py
    dz = out[2] - pz
    wx = out[3]
    wy = out[4]
    wz = out[5]
    dn = math.sqrt((dx * dx + dy * dy) + dz * dz)
    inv = 1.0 / dn
    sn = ((dx * ux + dy * uy) + dz * uz) * inv
    dd = ((dx * wx + dy * wy) + dz * wz) * inv
    vu = (wx * ux + wy * uy) + wz * uz
    g = sn - sin_m
    gp = (vu - sn * dd) * inv
    if not peak:
        return -g / gp
    ax = out[6]
    ay = out[7]
    az = out[8]
    au = (ax * ux + ay * uy) + az * uz
    vv = (wx * wx + wy * wy) + wz * wz
    da = (dx * ax + dy * ay) + dz * az
    ddd = ((vv - dd * dd) + da) / dn
    gpp = ((au - ddd * sn) - 2.0 * dd * gp) / dn
    return -gp / gpp


def _start_time(m, n, H, tau, step):
    """Polished starting time inside sub-step ``m``: ``t_k + x H + step``, clamped."""
    k = m // n
    j = m - k * n
    x = (j + tau) / n
    t = (float(k * n) * H) / n + x * H
    tn = t + step
    if not math.isfinite(tn):
        tn = t
    ta = (float(m) * H) / n
    tb = (float(m + 1) * H) / n
    return min(max(tn, ta), tb)


def _root_tau(ga, gb, gpa, gpb, hs):
    """Root of the cubic Hermite of g on the sub-step (fraction in [0, 1]): the secant
    estimate, then two Newton steps."""
    a1 = hs * gpa
    a2 = 3.0 * (gb - ga) - hs * (2.0 * gpa + gpb)
    a3 = 2.0 * (ga - gb) + hs * (gpa + gpb)
    tau = ga / (ga - gb)
    for _ in range(2):
        p = ga + tau * (a1 + tau * (a2 + tau * a3))
        dp = a1 + tau * (2.0 * a2 + 3.0 * a3 * tau)
        if dp != 0.0:
            tau = tau - p / dp
        tau = min(max(tau, 0.0), 1.0)
    return tau


def _peak_tau(ga, gb, gpa, gpb, hs):
    """Zero of the derivative of the cubic Hermite of g (fraction in [0, 1])."""
    a1 = hs * gpa
    a2 = 3.0 * (gb - ga) - hs * (2.0 * gpa + gpb)
    a3 = 2.0 * (ga - gb) + hs * (gpa + gpb)
    tau = gpa / (gpa - gpb)
    for _ in range(2):
        p = a1 + tau * (2.0 * a2 + 3.0 * a3 * tau)
        dp = 2.0 * a2 + 6.0 * a3 * tau
        if dp != 0.0:
            tau = tau - p / dp
        tau = min(max(tau, 0.0), 1.0)
    return tau


_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
_accel = _jit(_accel)
_cell_eps_v = _jit(_cell_eps_v)
_root_tau = _jit(_root_tau)
_peak_tau = _jit(_peak_tau)
_classify = _jit(_classify)
_polish = _jit(_polish)
_start_time = _jit(_start_time)
screen = _jit(_screen_scalar)
grid_ecef = _jit(_grid_ecef_scalar)

/* spaceverse view: the run's data, the shared clock and the look-ups every view uses.
 * Nothing here touches the network: the data is inline (or in data.js next to the page). */
(function () {
  'use strict';
  const D = window.SV_DATA || JSON.parse(document.getElementById('sv-data').textContent);
  const M = D.meta;
  const NS = D.sats.names.length, NT = D.sats.times, STEP = D.sats.step_s;
  const R = M.earth_radius_km, W = M.earth_rotation_rad_s, HORIZON = M.horizon_s;
  const START_MS = Date.parse(M.start_utc);
  const COLORS = {
    raw: '#f28e2b', compressed: '#2ec4b6', idle: '#b8c4d0', sat: '#ffd166',
    selected: '#ff4d6d', station: '#ef476f', onboard: '#8e6bd8', ground: '#3a86ff',
    contact: '#c9d6e3', ocean: '#12385c', land: '#6f8f4e', coast: '#dfe7ee', space: '#0a0f1e',
    palette: ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
      '#7f7f7f', '#bcbd22', '#17becf'],
  };

  function decode(b64) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Float32Array(bytes.buffer);
  }
  const P = decode(D.sats.positions);

  /* Earth-fixed positions (km) of every satellite at t seconds: the stored samples are
   * turned into a frame that does not turn with the Earth, interpolated along the great
   * circle (direction) and linearly (radius), and turned back. */
  function positionsAt(t) {
    const out = new Float64Array(NS * 3);
    let k = Math.floor(t / STEP);
    k = Math.max(0, Math.min(NT - 2, k));
    if (NT < 2) k = 0;
    const t0 = k * STEP, t1 = t0 + STEP;
    const f = NT < 2 ? 0 : Math.max(0, Math.min(1, (t - t0) / STEP));
    const c0 = Math.cos(W * t0), s0 = Math.sin(W * t0);
    const c1 = Math.cos(W * t1), s1 = Math.sin(W * t1);
    const c = Math.cos(-W * t), s = Math.sin(-W * t);
    for (let j = 0; j < NS; j++) {
      const i0 = (k * NS + j) * 3, i1 = NT < 2 ? i0 : ((k + 1) * NS + j) * 3;
      const ax = c0 * P[i0] - s0 * P[i0 + 1], ay = s0 * P[i0] + c0 * P[i0 + 1], az = P[i0 + 2];
      const bx = c1 * P[i1] - s1 * P[i1 + 1], by = s1 * P[i1] + c1 * P[i1 + 1], bz = P[i1 + 2];
      const ra = Math.hypot(ax, ay, az), rb = Math.hypot(bx, by, bz);
      const dot = Math.max(-1, Math.min(1, (ax * bx + ay * by + az * bz) / (ra * rb)));
      const om = Math.acos(dot);
      let wa = 1 - f, wb = f;
      if (om > 1e-9) { wa = Math.sin((1 - f) * om) / Math.sin(om); wb = Math.sin(f * om) / Math.sin(om); }
      const r = (1 - f) * ra + f * rb;
      let x = wa * ax / ra + wb * bx / rb, y = wa * ay / ra + wb * by / rb, z = wa * az / ra + wb * bz / rb;
      const n = Math.hypot(x, y, z);
      x *= r / n; y *= r / n; z *= r / n;
      out[j * 3] = c * x - s * y; out[j * 3 + 1] = s * x + c * y; out[j * 3 + 2] = z;
    }
    return out;
  }

  /* The stored (not interpolated) position of satellite j at sample k. */
  function sampleAt(k, j) {
    const i = (k * NS + j) * 3;
    return [P[i], P[i + 1], P[i + 2]];
  }

  function latLon(x, y, z) {
    return [Math.atan2(z, Math.hypot(x, y)) * 180 / Math.PI, Math.atan2(y, x) * 180 / Math.PI];
  }

  function unit(latDeg, lonDeg) {
    const la = latDeg * Math.PI / 180, lo = lonDeg * Math.PI / 180;
    return [Math.cos(la) * Math.cos(lo), Math.cos(la) * Math.sin(lo), Math.sin(la)];
  }

  /* How many of the ascending values are <= x. */
  function upper(values, x) {
    let lo = 0, hi = values.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (values[m] <= x) lo = m + 1; else hi = m; }
    return lo;
  }

  /* Indexes of rows grouped by `group` (n groups), each group sorted by `key`; rows whose
   * key is null are left out.  Returns [{rows, keys}] per group. */
  function grouped(n, group, key) {
    const out = Array.from({ length: n }, () => ({ rows: [], keys: [] }));
    const order = key.map((_, i) => i).filter(i => key[i] !== null && group[i] >= 0 && group[i] < n);
    order.sort((a, b) => key[a] - key[b]);
    for (const i of order) { out[group[i]].rows.push(i); out[group[i]].keys.push(key[i]); }
    return out;
  }

  const S = D.samples, C = D.contacts, X = D.transfers;
  const NST = D.stations.length;
  const contactsOf = grouped(NS, C.sat, C.rise);
  const transfersOf = grouped(NS, X.sat, X.start);
  const stationTransfers = grouped(NST, X.st, X.start);
  const onboardOf = grouped(NS, S.sat, S.onboard_start);
  const doneOf = grouped(NS, S.sat, S.done.map((d, i) => (S.status[i] <= 1 ? d : null)));
  const groundOf = grouped(NST, S.st, S.ground_start);
  const capturedOrder = S.capture.map((_, i) => i).sort((a, b) => S.capture[a] - S.capture[b]);
  const capturedKeys = capturedOrder.map(i => S.capture[i]);
  let longest = 1;
  for (let i = 0; i < X.start.length; i++) longest = Math.max(longest, X.end[i] - X.start[i]);
  let longestJob = 1;
  for (let i = 0; i < S.ground_start.length; i++) {
    if (S.ground_start[i] !== null) longestJob = Math.max(longestJob, S.ground_end[i] - S.ground_start[i]);
  }

  /* The contact window of satellite j open at t (index into D.contacts), or -1. */
  function contactAt(j, t) {
    const g = contactsOf[j], last = upper(g.keys, t) - 1;
    for (let k = last; k >= 0 && k >= last - 8; k--) {
      if (C.set[g.rows[k]] >= t) return g.rows[k];
    }
    return -1;
  }
  function nextContact(j, t) {
    const g = contactsOf[j], k = upper(g.keys, t);
    return k < g.rows.length ? g.rows[k] : -1;
  }
  /* Transfers (indexes into D.transfers) of group g that overlap [t0, t1]. */
  function overlapping(g, t0, t1) {
    const out = [];
    for (let k = upper(g.keys, t1) - 1; k >= 0 && g.keys[k] >= t0 - longest; k--) {
      if (X.end[g.rows[k]] >= t0) out.push(g.rows[k]);
    }
    return out.reverse();
  }
  function transfersIn(j, t0, t1) { return overlapping(transfersOf[j], t0, t1); }
  function stationTransfersIn(st, t0, t1) { return overlapping(stationTransfers[st], t0, t1); }
  function lastTransfer(j, t) {
    const g = transfersOf[j], k = upper(g.keys, t) - 1;
    return k >= 0 ? g.rows[k] : -1;
  }
  /* The sample satellite j computes on board at t, or -1. */
  function onboardAt(j, t) {
    const g = onboardOf[j], k = upper(g.keys, t) - 1;
    return k >= 0 && S.onboard_end[g.rows[k]] >= t ? g.rows[k] : -1;
  }
  function lastDone(j, t) {
    const g = doneOf[j], k = upper(g.keys, t) - 1;
    return k >= 0 ? g.rows[k] : -1;
  }
  /* Samples that station st's GPUs run at t. */
  function groundAt(st, t) {
    const g = groundOf[st], out = [];
    for (let k = upper(g.keys, t) - 1; k >= 0 && g.keys[k] >= t - longestJob; k--) {
      if (S.ground_end[g.rows[k]] >= t) out.push(g.rows[k]);
    }
    return out;
  }
  function bufferAt(j, t) {
    const b = D.buffer[j], k = upper(b.t, t) - 1;
    return k >= 0 ? b.mb[k] : 0;
  }
  function capturedBy(t) { return upper(capturedKeys, t); }

  function pad(n) { return String(n).padStart(2, '0'); }
  function utc(t) {
    const d = new Date(START_MS + t * 1000);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  }
  function elapsed(t) {
    const s = Math.max(0, Math.round(t));
    return `T+${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
  }
  function duration(s) {
    if (!isFinite(s)) return '–';
    if (s < 1) return `${(s * 1000).toFixed(0)} ms`;
    if (s < 120) return `${s.toFixed(1)} s`;
    if (s < 7200) return `${(s / 60).toFixed(1)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  }
  function bytes(b) {
    if (b >= 1e6) return `${(b / 1e6).toFixed(2)} MB`;
    return `${(b / 1e3).toFixed(1)} kB`;
  }
  function escape(text) {
    return String(text).replace(/[&<>"']/g, ch => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);
  }

  /* The clock: state.t (seconds since the start), state.window (seconds of activity a
   * frame shows: a transfer lasts a fraction of a second, so links show what moved since
   * the previous frame), the selected satellite (-1: all). */
  const state = { t: 0, window: 1, playing: false, speed: 300, sel: -1, dirty: true };
  function setTime(t, window) {
    const clamped = Math.max(0, Math.min(HORIZON, Number(t) || 0));
    state.window = window !== undefined ? window
      : Math.max(1, Math.min(600, Math.abs(clamped - state.t)));
    state.t = clamped;
    state.dirty = true;
  }

  window.SV = {
    D, M, NS, NT, NST, STEP, R, W, HORIZON, START_MS, COLORS, state, views: [],
    positionsAt, sampleAt, latLon, unit, upper, setTime, contactAt, nextContact, transfersIn,
    stationTransfersIn, lastTransfer, onboardAt, lastDone, groundAt, bufferAt, capturedBy,
    utc, elapsed, duration, bytes, escape, ready: false, errors: [],
  };
})();

/* spaceverse view: the 3D globe (plotly.js mesh3d and scatter3d) and its side panel. */
(function () {
  'use strict';
  const SV = window.SV, D = SV.D, C = SV.COLORS, NS = SV.NS;
  const LIFT = 1.002;            // lines drawn just above the surface
  const TRAIL_S = 20 * 60;       // a satellite's trail: its last 20 minutes
  const TRAILS_FOR_ALL = 60;
  const EARTH_STRIDE = window.SV_EARTH_STRIDE || 2;     // above this many satellites only the selected one has a trail
  let gd, T = {};                // the plot and its trace indexes

  /* The Earth: a triangle mesh over the land raster taken every EARTH_STRIDE degrees,
   * coloured by the land fraction (the coastlines on top give the detail).  plotly
   * rebuilds every trace of a scene on each restyle, so this mesh's size sets the
   * frame rate; a mesh is several times cheaper to rebuild than a surface trace. */
  function earth() {
    const r = D.land.raster, step = r.step_deg * EARTH_STRIDE;
    const bin = atob(r.data);
    const rows = Math.floor((r.rows - 1) / EARTH_STRIDE) + 1, cols = Math.floor((r.cols - 1) / EARTH_STRIDE) + 1;
    const x = [], y = [], z = [], c = [], I = [], J = [], K = [];
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const u = SV.unit(r.lat0 + i * step, r.lon0 + j * step);
        x.push(u[0]); y.push(u[1]); z.push(u[2]);
        c.push(bin.charCodeAt(i * EARTH_STRIDE * r.cols + j * EARTH_STRIDE) / 255);
        if (i > 0 && j > 0) {
          const a = (i - 1) * cols + j - 1, b = a + 1, d = i * cols + j - 1, e = d + 1;
          I.push(a, b); J.push(b, e); K.push(d, d);
        }
      }
    }
    return {
      type: 'mesh3d', x, y, z, i: I, j: J, k: K, intensity: c, cmin: 0, cmax: 1, showscale: false,
      colorscale: [[0, C.ocean], [0.35, '#1d4e79'], [0.5, '#4f7a58'], [0.7, C.land], [1, '#8a9f5f']],
      hoverinfo: 'skip', flatshading: false,
      lighting: { ambient: 0.85, diffuse: 0.35, specular: 0.05, roughness: 1, facenormalsepsilon: 0 },
    };
  }

  function ringsTo3d(rings, lift) {
    const x = [], y = [], z = [];
    for (const ring of rings) {
      for (let i = 0; i < ring.length; i += 2) {
        const u = SV.unit(ring[i + 1] / 100, ring[i] / 100);
        x.push(u[0] * lift); y.push(u[1] * lift); z.push(u[2] * lift);
      }
      x.push(null); y.push(null); z.push(null);
    }
    return { x, y, z };
  }

  function line(name, color, width, extra) {
    return Object.assign({ type: 'scatter3d', mode: 'lines', name, x: [], y: [], z: [],
      line: { color, width }, hoverinfo: 'skip', showlegend: false }, extra || {});
  }

  function traces() {
    const out = [earth()];
    const coast = ringsTo3d(D.land.polygons.flat(), LIFT);
    out.push(line('coastlines', C.coast, 1.5, coast));
    const fx = [], fy = [], fz = [];
    for (const st of D.stations) {
      for (let i = 0; i < st.ring_lat.length; i++) {
        const u = SV.unit(st.ring_lat[i], st.ring_lon[i]);
        fx.push(u[0] * LIFT); fy.push(u[1] * LIFT); fz.push(u[2] * LIFT);
      }
      fx.push(null); fy.push(null); fz.push(null);
    }
    out.push(line('footprints', C.station, 3, { x: fx, y: fy, z: fz }));
    const sx = [], sy = [], sz = [], text = [];
    for (const st of D.stations) {
      const u = SV.unit(st.lat, st.lon);
      sx.push(u[0] * LIFT); sy.push(u[1] * LIFT); sz.push(u[2] * LIFT);
      text.push(`${SV.escape(st.name)}<br>mask ${st.mask_deg}°, footprint ${st.footprint_km} km ` +
        `at ${D.meta.shell_altitude_km} km<br>${st.antennas} antenna(s)`);
    }
    out.push({ type: 'scatter3d', mode: 'markers+text', name: 'stations', x: sx, y: sy, z: sz,
      text: D.stations.map(s => SV.escape(s.name)), textposition: 'top center',
      textfont: { color: '#ffe3ea', size: 11 }, hovertext: text, hoverinfo: 'text',
      marker: { symbol: 'diamond', size: 6, color: C.station, line: { color: '#fff', width: 1 } },
      showlegend: false });
    T.trails = out.length; out.push(line('trails', 'rgba(255,209,102,0.45)', 2));
    T.idle = out.length; out.push(line('idle contact', C.idle, 2));
    T.raw = out.length; out.push(line('raw', C.raw, 6));
    T.compressed = out.length; out.push(line('compressed', C.compressed, 6));
    T.sats = out.length;
    out.push({ type: 'scatter3d', mode: 'markers', name: 'satellites', x: [], y: [], z: [],
      hovertext: [], hoverinfo: 'text', showlegend: false,
      marker: { size: NS > 200 ? 2.5 : 4.5, color: [], line: { width: 0 } } });
    return out;
  }

  function camera() {
    const st = D.stations[0];
    const u = st ? SV.unit(st.lat * 0.8, st.lon) : [1, 0, 0.3];
    return { eye: { x: u[0] * 1.3, y: u[1] * 1.3, z: u[2] * 1.3 }, up: { x: 0, y: 0, z: 1 } };
  }

  function init() {
    gd = document.getElementById('globe');
    const axis = { visible: false, range: [-1.22, 1.22], showspikes: false };
    const layout = {
      margin: { l: 0, r: 0, t: 0, b: 0 }, paper_bgcolor: C.space, showlegend: false,
      uirevision: 'keep', hoverlabel: { bgcolor: '#1b2335', font: { color: '#fff', size: 12 } },
      scene: { xaxis: axis, yaxis: axis, zaxis: axis, aspectmode: 'cube', bgcolor: C.space,
        camera: camera(), dragmode: 'turntable' },
    };
    const config = { displaylogo: false, responsive: true, scrollZoom: true,
      modeBarButtonsToRemove: ['toImage', 'resetCameraLastSave3d', 'hoverClosest3d'] };
    return Plotly.newPlot(gd, traces(), layout, config).then(() => {
      gd.on('plotly_click', ev => {
        const p = ev.points && ev.points[0];
        if (p && p.curveNumber === T.sats) SV.select(p.pointNumber);
      });
    });
  }

  function status(j, t, pos) {
    const k = SV.contactAt(j, t);
    const moving = SV.transfersIn(j, t - SV.state.window, t);
    const kind = moving.length ? (moving.some(i => D.transfers.compressed[i] === 0) ? 'raw' : 'compressed')
      : (k >= 0 ? 'idle' : null);
    const st = moving.length ? D.transfers.st[moving[moving.length - 1]] : (k >= 0 ? D.contacts.st[k] : -1);
    return { contact: k, moving, kind, station: st };
  }

  function update() {
    if (!gd) return;
    const t = SV.state.t, pos = SV.positionsAt(t), R = SV.R, sel = SV.state.sel;
    const sx = [], sy = [], sz = [], color = [], hover = [];
    const links = { idle: [[], [], []], raw: [[], [], []], compressed: [[], [], []] };
    for (let j = 0; j < NS; j++) {
      const x = pos[j * 3] / R, y = pos[j * 3 + 1] / R, z = pos[j * 3 + 2] / R;
      sx.push(x); sy.push(y); sz.push(z);
      const s = status(j, t, pos);
      color.push(j === sel ? C.selected : (s.kind === 'raw' ? C.raw : s.kind === 'compressed'
        ? C.compressed : (s.kind === 'idle' ? '#ffffff' : C.sat)));
      let h = `<b>${SV.escape(D.sats.names[j])}</b><br>buffer ${SV.bufferAt(j, t).toFixed(2)} MB`;
      const ob = SV.onboardAt(j, t);
      if (ob >= 0) h += `<br>onboard: ${SV.escape(D.samples.id[ob])}`;
      if (s.moving.length) {
        const i = s.moving[s.moving.length - 1];
        h += `<br>sending ${SV.escape(D.samples.id[D.transfers.sample[i]])} (${s.kind}) to ` +
          SV.escape(D.stations[D.transfers.st[i]].name);
      } else if (s.contact >= 0) h += `<br>in contact with ${SV.escape(D.stations[s.station].name)}`;
      hover.push(h);
      if (s.kind && s.station >= 0) {
        const st = D.stations[s.station], u = SV.unit(st.lat, st.lon), L = links[s.kind];
        L[0].push(u[0], x, null); L[1].push(u[1], y, null); L[2].push(u[2], z, null);
      }
    }
    const tr = [[], [], []];
    const trailsFor = NS <= TRAILS_FOR_ALL ? [...Array(NS).keys()] : (sel >= 0 ? [sel] : []);
    const k1 = Math.floor(t / SV.STEP), k0 = Math.max(0, Math.floor((t - TRAIL_S) / SV.STEP));
    for (const j of trailsFor) {
      for (let k = k0; k <= Math.min(k1, SV.NT - 1); k++) {
        const p = SV.sampleAt(k, j);
        tr[0].push(p[0] / R); tr[1].push(p[1] / R); tr[2].push(p[2] / R);
      }
      tr[0].push(sx[j], null); tr[1].push(sy[j], null); tr[2].push(sz[j], null);
    }
    Plotly.restyle(gd, {
      x: [tr[0], links.idle[0], links.raw[0], links.compressed[0], sx],
      y: [tr[1], links.idle[1], links.raw[1], links.compressed[1], sy],
      z: [tr[2], links.idle[2], links.raw[2], links.compressed[2], sz],
      'marker.color': [undefined, undefined, undefined, undefined, color],
      hovertext: [undefined, undefined, undefined, undefined, hover],
    }, [T.trails, T.idle, T.raw, T.compressed, T.sats]);
  }

  /* The side panel: the selected satellite (or the busiest one in contact), the stations,
   * and the run's counters at the current time. */
  function panel() {
    const el = document.getElementById('panel-body');
    if (!el) return;
    const t = SV.state.t, S = D.samples, X = D.transfers, E = SV.escape;
    let j = SV.state.sel;
    if (j < 0) {
      for (let k = 0; k < NS && j < 0; k++) if (SV.contactAt(k, t) >= 0) j = k;
      if (j < 0) j = 0;
    }
    const pos = SV.positionsAt(t), ll = SV.latLon(pos[j * 3], pos[j * 3 + 1], pos[j * 3 + 2]);
    const alt = Math.hypot(pos[j * 3], pos[j * 3 + 1], pos[j * 3 + 2]) - SV.R;
    const rows = [];
    const why = SV.state.sel >= 0 ? '' : (SV.contactAt(j, t) >= 0 ? ' <small>(the first in contact; pick one above)</small>'
      : ' <small>(none in contact; pick one above)</small>');
    rows.push(`<h3>${E(D.sats.names[j])}${why}</h3>`);
    rows.push(`<p>${ll[0].toFixed(2)}°, ${ll[1].toFixed(2)}°, ${alt.toFixed(0)} km</p>`);
    const k = SV.contactAt(j, t);
    if (k >= 0) {
      rows.push(`<p><span class="dot" style="background:${C.idle}"></span>in contact with ` +
        `<b>${E(D.stations[D.contacts.st[k]].name)}</b> for ${SV.duration(D.contacts.set[k] - t)} more ` +
        `(max elevation ${D.contacts.max_el[k]}°)</p>`);
    } else if (D.meta.availability === 'always') {
      rows.push('<p>link always available (the scenario has no contact windows)</p>');
    } else {
      const n = SV.nextContact(j, t);
      rows.push(n >= 0 ? `<p>next contact: ${E(D.stations[D.contacts.st[n]].name)} in ` +
        `${SV.duration(D.contacts.rise[n] - t)}</p>` : '<p>no further contact in the run</p>');
    }
    rows.push(`<p>buffer: <b>${SV.bufferAt(j, t).toFixed(3)} MB</b></p>`);
    const ob = SV.onboardAt(j, t);
    rows.push(ob >= 0 ? `<p><span class="dot" style="background:${C.onboard}"></span>onboard model: ` +
      `<b>${E(S.id[ob])}</b></p>` : '<p>onboard model: idle</p>');
    const moving = SV.transfersIn(j, t - SV.state.window, t);
    const i = moving.length ? moving[moving.length - 1] : SV.lastTransfer(j, t);
    if (i >= 0) {
      const kind = X.compressed[i] ? 'compressed' : 'raw';
      rows.push(`<p><span class="dot" style="background:${C[kind]}"></span>` +
        `${moving.length ? 'sending' : 'last sent'} <b>${E(S.id[X.sample[i]])}</b> (${kind}, ` +
        `${SV.bytes(X.bytes[i])} in ${X.pieces[i]} piece(s), ${SV.duration(X.end[i] - X.start[i])})` +
        `${moving.length ? '' : ', ' + SV.duration(t - X.end[i]) + ' ago'}</p>`);
    }
    const d = SV.lastDone(j, t);
    if (d >= 0) {
      rows.push(`<p>last answered: <b>${E(S.id[d])}</b> ${S.status[d] === 1 ? 'on the ground' : 'onboard'}` +
        `, end to end ${SV.duration(S.e2e[d])}</p>`);
    }
    rows.push('<h3>Stations</h3>');
    for (let s = 0; s < D.stations.length; s++) {
      const jobs = SV.groundAt(s, t), sent = SV.stationTransfersIn(s, t - SV.state.window, t);
      rows.push(`<p><b>${E(D.stations[s].name)}</b>: ${sent.length ? 'receiving' : 'no transfer'}` +
        `; ground model ${jobs.length ? 'runs ' + jobs.map(q => E(S.id[q])).join(', ') : 'idle'}</p>`);
    }
    const captured = SV.capturedBy(t);
    let onboard = 0, ground = 0;
    for (let q = 0; q < S.done.length; q++) {
      if (S.done[q] !== null && S.done[q] <= t) { if (S.status[q] === 0) onboard++; else if (S.status[q] === 1) ground++; }
    }
    rows.push(`<h3>So far</h3><p>${captured} captured, ${onboard} answered onboard, ${ground} on the ground</p>`);
    el.innerHTML = rows.join('');
  }

  SV.views.push({ name: 'globe', init, fast: update, slow: panel });
})();

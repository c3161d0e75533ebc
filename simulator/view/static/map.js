/* spaceverse view: the 2D map (equirectangular, plotly.js scatter on plain axes, drawn from
 * the shipped Natural Earth land; no map tiles, no topojson download). */
(function () {
  'use strict';
  const SV = window.SV, D = SV.D, C = SV.COLORS, NS = SV.NS;
  const TRACKS_FOR_ALL = 12;  // above this many satellites only the selected one's track
  let gd, T = {};

  /* Polylines in (lon, lat) with a break wherever a line jumps across the antimeridian. */
  function broken(lats, lons) {
    const x = [], y = [];
    for (let i = 0; i < lats.length; i++) {
      if (lats[i] === null) { x.push(null); y.push(null); continue; }
      if (i > 0 && lons[i - 1] !== null && Math.abs(lons[i] - lons[i - 1]) > 180) { x.push(null); y.push(null); }
      x.push(lons[i]); y.push(lats[i]);
    }
    return { x, y };
  }

  /* Land rings (unwrapped longitudes) drawn once, and once more shifted by 360 degrees
   * when they run past the antimeridian; the axes clip them to [-180, 180]. */
  function rings(which) {
    const x = [], y = [];
    for (const polygon of D.land.polygons) {
      const chosen = which === 'outer' ? polygon.slice(0, 1) : which === 'holes' ? polygon.slice(1) : polygon;
      for (const ring of chosen) {
        let lo = Infinity, hi = -Infinity;
        for (let i = 0; i < ring.length; i += 2) { lo = Math.min(lo, ring[i]); hi = Math.max(hi, ring[i]); }
        for (const shift of [0, -36000, 36000]) {
          if (shift !== 0 && !((shift < 0 && hi > 18000) || (shift > 0 && lo < -18000))) continue;
          for (let i = 0; i < ring.length; i += 2) { x.push((ring[i] + shift) / 100); y.push(ring[i + 1] / 100); }
          x.push(null); y.push(null);
        }
      }
    }
    return { x, y };
  }

  function arcKinds() {
    /* What each contact window carried: raw if any raw transfer, else compressed, else idle. */
    const kind = D.contacts.sat.map(() => 'idle');
    const X = D.transfers;
    for (let i = 0; i < X.start.length; i++) {
      const k = SV.contactAt(X.sat[i], X.start[i]);
      if (k < 0) continue;
      if (!X.compressed[i]) kind[k] = 'raw';
      else if (kind[k] === 'idle') kind[k] = 'compressed';
    }
    return kind;
  }

  function staticLayers(sel) {
    const arcs = { idle: { x: [], y: [] }, raw: { x: [], y: [] }, compressed: { x: [], y: [] } };
    const A = D.contacts.arc, kinds = arcKinds();
    let at = 0;
    for (let k = 0; k < A.count.length; k++) {
      const n = A.count[k];
      if (sel < 0 || D.contacts.sat[k] === sel) {
        const b = broken(A.lat.slice(at, at + n), A.lon.slice(at, at + n)), a = arcs[kinds[k]];
        a.x.push(...b.x, null); a.y.push(...b.y, null);
      }
      at += n;
    }
    const sent = { raw: { x: [], y: [], text: [] }, compressed: { x: [], y: [], text: [] } };
    const X = D.transfers;
    for (let i = 0; i < X.start.length; i++) {
      if (sel >= 0 && X.sat[i] !== sel) continue;
      const s = sent[X.compressed[i] ? 'compressed' : 'raw'];
      s.x.push(X.lon[i]); s.y.push(X.lat[i]);
      s.text.push(`${SV.escape(D.samples.id[X.sample[i]])} from ${SV.escape(D.sats.names[X.sat[i]])}` +
        `<br>to ${SV.escape(D.stations[X.st[i]].name)}, ${SV.bytes(X.bytes[i])}<br>${SV.utc(X.start[i])}`);
    }
    return { arcs, sent };
  }

  function init() {
    gd = document.getElementById('map');
    const land = rings('outer'), holes = rings('holes'), coast = rings('all');
    const traces = [
      { type: 'scatter', mode: 'lines', x: land.x, y: land.y, fill: 'toself', fillcolor: C.land,
        line: { width: 0 }, hoverinfo: 'skip', showlegend: false },
      { type: 'scatter', mode: 'lines', x: holes.x, y: holes.y, fill: 'toself', fillcolor: C.ocean,
        line: { width: 0 }, hoverinfo: 'skip', showlegend: false },
      { type: 'scatter', mode: 'lines', x: coast.x, y: coast.y, line: { color: C.coast, width: 0.6 },
        hoverinfo: 'skip', showlegend: false },
    ];
    for (const st of D.stations) {
      const b = broken(st.ring_lat, st.ring_lon);
      traces.push({ type: 'scatter', mode: 'lines', x: b.x, y: b.y, name: `${SV.escape(st.name)} footprint`,
        line: { color: C.station, width: 2, dash: 'dot' }, hoverinfo: 'skip', showlegend: false });
    }
    T.tracks = traces.length;
    traces.push({ type: 'scatter', mode: 'lines', x: [], y: [], name: 'ground track',
      line: { color: 'rgba(255,209,102,0.8)', width: 1.3 }, hoverinfo: 'skip' });
    T.arcs = traces.length;
    for (const kind of ['idle', 'raw', 'compressed']) {
      traces.push({ type: 'scatter', mode: 'lines', x: [], y: [], hoverinfo: 'skip',
        name: kind === 'idle' ? 'contact, nothing sent' : `contact with ${kind} transfers`,
        line: { color: C[kind], width: 4 } });
    }
    T.sent = traces.length;
    for (const kind of ['raw', 'compressed']) {
      traces.push({ type: 'scatter', mode: 'markers', x: [], y: [], name: `${kind} transfer`,
        hovertext: [], hoverinfo: 'text', marker: { color: C[kind], size: 7, symbol: 'circle',
          line: { color: '#10233a', width: 1 } } });
    }
    traces.push({ type: 'scatter', mode: 'markers+text', x: D.stations.map(s => s.lon),
      y: D.stations.map(s => s.lat), text: D.stations.map(s => SV.escape(s.name)), textposition: 'bottom center',
      textfont: { color: '#fff', size: 11 }, name: 'station (dotted: footprint at the mask)',
      hovertext: D.stations.map(s => `${SV.escape(s.name)}: mask ${s.mask_deg}°, footprint ${s.footprint_km} km`),
      hoverinfo: 'text', marker: { symbol: 'diamond', color: C.station, size: 10, line: { color: '#fff', width: 1 } } });
    T.sats = traces.length;
    traces.push({ type: 'scatter', mode: 'markers', x: [], y: [], name: 'satellite now', hovertext: [],
      hoverinfo: 'text', marker: { color: C.sat, size: NS > 200 ? 4 : 9, line: { color: '#222', width: 1 } } });
    const grid = { range: null, showgrid: true, gridcolor: 'rgba(255,255,255,0.12)', zeroline: false,
      ticksuffix: '°', color: '#445' };
    const layout = {
      margin: { l: 44, r: 10, t: 10, b: 30 }, plot_bgcolor: C.ocean, paper_bgcolor: '#fff',
      xaxis: Object.assign({}, grid, { range: [-180, 180], dtick: 30, constrain: 'domain' }),
      yaxis: Object.assign({}, grid, { range: [-90, 90], dtick: 30, scaleanchor: 'x', scaleratio: 1 }),
      legend: { orientation: 'h', y: -0.08, font: { size: 11 } }, uirevision: 'keep', hovermode: 'closest',
    };
    return Plotly.newPlot(gd, traces, layout, { displaylogo: false, responsive: true,
      modeBarButtonsToRemove: ['toImage', 'lasso2d', 'select2d'] }).then(() => restyleStatic());
  }

  function restyleStatic() {
    const s = staticLayers(SV.state.sel);
    Plotly.restyle(gd, {
      x: [s.arcs.idle.x, s.arcs.raw.x, s.arcs.compressed.x, s.sent.raw.x, s.sent.compressed.x],
      y: [s.arcs.idle.y, s.arcs.raw.y, s.arcs.compressed.y, s.sent.raw.y, s.sent.compressed.y],
      hovertext: [undefined, undefined, undefined, s.sent.raw.text, s.sent.compressed.text],
    }, [T.arcs, T.arcs + 1, T.arcs + 2, T.sent, T.sent + 1]);
  }

  function update() {
    if (!gd) return;
    const t = SV.state.t, sel = SV.state.sel, pos = SV.positionsAt(t);
    const x = [], y = [], text = [], color = [];
    for (let j = 0; j < NS; j++) {
      const ll = SV.latLon(pos[j * 3], pos[j * 3 + 1], pos[j * 3 + 2]);
      x.push(ll[1]); y.push(ll[0]);
      text.push(`${SV.escape(D.sats.names[j])}<br>${ll[0].toFixed(1)}°, ${ll[1].toFixed(1)}°`);
      color.push(j === sel ? C.selected : (SV.contactAt(j, t) >= 0 ? '#ffffff' : C.sat));
    }
    /* Ground tracks: half an orbit before and after now. */
    const shown = NS <= TRACKS_FOR_ALL ? [...Array(NS).keys()] : (sel >= 0 ? [sel] : []);
    const lats = [], lons = [];
    for (const j of shown) {
      const period = 43200 / Math.max(1, D.sats.revs_per_day[j]);
      const k0 = Math.max(0, Math.floor((t - period) / SV.STEP));
      const k1 = Math.min(SV.NT - 1, Math.ceil((t + period) / SV.STEP));
      for (let k = k0; k <= k1; k++) {
        const p = SV.sampleAt(k, j), ll = SV.latLon(p[0], p[1], p[2]);
        lats.push(ll[0]); lons.push(ll[1]);
      }
      lats.push(null); lons.push(null);
    }
    const tr = broken(lats, lons);
    Plotly.restyle(gd, { x: [tr.x, x], y: [tr.y, y], hovertext: [undefined, text],
      'marker.color': [undefined, color] }, [T.tracks, T.sats]);
  }

  SV.views.push({ name: 'map', init, slow: update, select: () => gd && restyleStatic() });
})();

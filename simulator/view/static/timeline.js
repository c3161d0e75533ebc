/* spaceverse view: the timeline per station and per satellite (contacts, transfers, onboard
 * and ground compute) with the buffer levels below; zoomable, its cursor is the clock. */
(function () {
  'use strict';
  const SV = window.SV, D = SV.D, C = SV.COLORS;
  const BUFFER_LINES_FOR_ALL = 12;
  let gd, T = {};

  /* Seconds since the start as plotly date strings (UTC, milliseconds). */
  function ms(t) { return new Date(SV.START_MS + t * 1000).toISOString().slice(0, 23).replace('T', ' '); }

  /* Rows: the stations first, then the timeline's satellites. */
  function rows() {
    const names = D.stations.map(s => s.name);
    const satRow = {}, base = names.length;
    D.timeline_sats.forEach((j, k) => { satRow[j] = base + k; names.push(D.sats.names[j]); });
    return { names, satRow };
  }

  function segments(list) {
    const x = [], y = [];
    for (const [a, b, row] of list) { x.push(ms(a), ms(b), null); y.push(row, row, null); }
    return { x, y };
  }

  function traces(layout) {
    const { names, satRow } = rows();
    const Cn = D.contacts, X = D.transfers, S = D.samples;
    const width = Math.max(4, Math.min(16, 360 / Math.max(1, names.length)));
    const windows = [];
    for (let k = 0; k < Cn.rise.length; k++) {
      windows.push([Cn.rise[k], Cn.set[k], Cn.st[k]]);
      if (satRow[Cn.sat[k]] !== undefined) windows.push([Cn.rise[k], Cn.set[k], satRow[Cn.sat[k]]]);
    }
    const out = [];
    const w = segments(windows);
    out.push({ type: 'scatter', mode: 'lines', x: w.x, y: w.y, name: 'contact window',
      line: { color: C.contact, width }, hoverinfo: 'skip', connectgaps: false });
    for (const kind of ['raw', 'compressed']) {
      const x = [], y = [], text = [];
      for (let i = 0; i < X.start.length; i++) {
        if ((X.compressed[i] === 1) !== (kind === 'compressed')) continue;
        const label = `${SV.escape(S.id[X.sample[i]])}: ${kind}, ${SV.bytes(X.bytes[i])}, ` +
          `${X.pieces[i]} piece(s), ${SV.duration(X.end[i] - X.start[i])}<br>` +
          `${SV.escape(D.sats.names[X.sat[i]])} → ${SV.escape(D.stations[X.st[i]].name)}`;
        const mid = ms((X.start[i] + X.end[i]) / 2);
        x.push(mid); y.push(X.st[i]); text.push(label);
        if (satRow[X.sat[i]] !== undefined) { x.push(mid); y.push(satRow[X.sat[i]]); text.push(label); }
      }
      out.push({ type: 'scatter', mode: 'markers', x, y, hovertext: text, hoverinfo: 'text',
        name: `${kind} transfer`, marker: { symbol: 'line-ns-open', size: width * 1.1, color: C[kind],
          line: { color: C[kind], width: 2.5 } } });
    }
    const onboard = { x: [], y: [], text: [] }, ground = { x: [], y: [], text: [] };
    for (let i = 0; i < S.id.length; i++) {
      if (S.onboard_start[i] !== null && satRow[S.sat[i]] !== undefined) {
        onboard.x.push(ms(S.onboard_start[i])); onboard.y.push(satRow[S.sat[i]] + 0.32);
        onboard.text.push(`${SV.escape(S.id[i])}: onboard model ${SV.duration(S.onboard_end[i] - S.onboard_start[i])}` +
          `${S.offload[i] ? ', then offloaded' : ', answered onboard'}`);
      }
      if (S.ground_start[i] !== null && S.st[i] >= 0) {
        ground.x.push(ms(S.ground_start[i])); ground.y.push(S.st[i] + 0.32);
        ground.text.push(`${SV.escape(S.id[i])}: ground model ${SV.duration(S.ground_end[i] - S.ground_start[i])}` +
          `, end to end ${SV.duration(S.e2e[i])}`);
      }
    }
    out.push({ type: 'scatter', mode: 'markers', x: onboard.x, y: onboard.y, hovertext: onboard.text,
      hoverinfo: 'text', name: 'onboard compute', marker: { symbol: 'triangle-up', size: 5, color: C.onboard, opacity: 0.75 } });
    out.push({ type: 'scatter', mode: 'markers', x: ground.x, y: ground.y, hovertext: ground.text,
      hoverinfo: 'text', name: 'ground compute', marker: { symbol: 'triangle-up', size: 6, color: C.ground } });
    T.buffer = out.length;
    if (SV.NS > BUFFER_LINES_FOR_ALL) {
      const b = D.buffer_total;
      out.push({ type: 'scatter', mode: 'lines', x: b.t.map(ms), y: b.mb, xaxis: 'x', yaxis: 'y2',
        line: { shape: 'hv', width: 1.3, color: '#5b6b82' }, name: 'all satellites', showlegend: false,
        hovertemplate: 'all satellites: %{y:.3f} MB<extra></extra>' });
    }
    const shown = SV.NS <= BUFFER_LINES_FOR_ALL ? [...Array(SV.NS).keys()] : [];
    shown.forEach((j, n) => {
      const b = D.buffer[j];
      out.push({ type: 'scatter', mode: 'lines', x: b.t.map(ms), y: b.mb, xaxis: 'x', yaxis: 'y2',
        line: { shape: 'hv', width: 1.3, color: C.palette[n % C.palette.length] },
        name: SV.escape(D.sats.names[j]), legendgroup: 'buffer', showlegend: false,
        hovertemplate: `${SV.escape(D.sats.names[j])}: %{y:.3f} MB<extra></extra>` });
    });
    T.selected = out.length;
    out.push({ type: 'scatter', mode: 'lines', x: [], y: [], xaxis: 'x', yaxis: 'y2', name: 'selected',
      line: { shape: 'hv', width: 2.5, color: C.selected }, showlegend: false, hoverinfo: 'skip' });
    layout.yaxis.tickvals = names.map((_, k) => k);
    layout.yaxis.ticktext = names.map(n => SV.escape(n));
    layout.yaxis.range = [names.length - 0.5, -0.7];
    return out;
  }

  function init() {
    gd = document.getElementById('timeline');
    const n = D.stations.length + D.timeline_sats.length;
    const height = Math.max(420, Math.min(1500, 190 + 24 * n + 150));
    const low = 150 / height;  /* the buffer plot: 150 px at the bottom */
    gd.style.height = `${height}px`;
    const layout = {
      margin: { l: 130, r: 16, t: 36, b: 64 }, height, hovermode: 'closest', uirevision: 'keep',
      xaxis: { type: 'date', anchor: 'y2', range: [ms(0), ms(SV.HORIZON)], showspikes: false,
        title: { text: 'time (UTC)' } },
      yaxis: { domain: [low + 40 / height, 1], fixedrange: true, showgrid: false, zeroline: false,
        automargin: true },
      yaxis2: { domain: [0, low], title: { text: SV.NS > BUFFER_LINES_FOR_ALL ? 'buffer, all (MB)'
        : 'buffer (MB)' }, rangemode: 'tozero', zeroline: false },
      legend: { orientation: 'h', traceorder: 'normal', y: 1.0, yanchor: 'bottom', x: 0, font: { size: 11 } },
      shapes: [{ type: 'line', xref: 'x', yref: 'paper', x0: ms(0), x1: ms(0), y0: 0, y1: 1,
        line: { color: C.selected, width: 2 } }],
    };
    const data = traces(layout);
    return Plotly.newPlot(gd, data, layout, { displaylogo: false, responsive: true,
      modeBarButtonsToRemove: ['toImage', 'lasso2d', 'select2d'] }).then(() => {
      /* A click anywhere on the plot moves the clock there (zooming still drags). */
      gd.addEventListener('click', ev => {
        const xa = gd._fullLayout && gd._fullLayout.xaxis;
        if (!xa || typeof xa.p2c !== 'function') return;
        const box = gd.getBoundingClientRect(), px = ev.clientX - box.left - xa._offset;
        if (px < 0 || px > xa._length) return;
        const at = xa.p2c(px);  /* milliseconds since the epoch, read as UTC */
        if (isFinite(at)) SV.setTime((at - SV.START_MS) / 1000);
      });
    });
  }

  function update() {
    if (!gd) return;
    const x = ms(SV.state.t);
    Plotly.relayout(gd, { 'shapes[0].x0': x, 'shapes[0].x1': x });
  }

  function select() {
    if (!gd) return;
    const j = SV.state.sel, b = j >= 0 ? D.buffer[j] : { t: [], mb: [] };
    Plotly.restyle(gd, { x: [b.t.map(ms)], y: [b.mb] }, [T.selected]);
  }

  SV.views.push({ name: 'timeline', init, slow: update, select });
})();

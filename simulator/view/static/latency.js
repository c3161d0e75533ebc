/* spaceverse view: the latency views: the CDF of the three latencies, one curve per policy
 * (or per swept value), and the parts of every finished sample's latency, stacked. */
(function () {
  'use strict';
  const SV = window.SV, D = SV.D, C = SV.COLORS;
  const METRICS = [['service', 'service (each sample alone)'], ['in contact', 'in contact (under load)'],
    ['end to end', 'end to end (under load)']];
  const PART_COLORS = ['#8e6bd8', '#d4a72c', '#b8c4d0', '#f28e2b', '#e63946', '#3a86ff'];

  function cdf() {
    const gd = document.getElementById('cdf');
    const labels = Object.keys(D.cdf);
    const traces = [];
    labels.forEach((label, n) => {
      METRICS.forEach(([key], m) => {
        const c = D.cdf[label][key];
        traces.push({ type: 'scatter', mode: 'lines', x: c.x, y: c.p, name: SV.escape(label), legendgroup: label,
          showlegend: m === 0, xaxis: m ? `x${m + 1}` : 'x', yaxis: 'y',
          line: { color: C.palette[n % C.palette.length], width: 2, shape: 'hv' },
          hovertemplate: `${SV.escape(label)}<br>%{x:.3s} s: %{y:.1%} of ${c.n} samples<extra></extra>` });
      });
    });
    const layout = { margin: { l: 56, r: 16, t: 34, b: 46 }, hovermode: 'closest',
      yaxis: { range: [0, 1.02], tickformat: '.0%', title: { text: 'share of samples' } },
      legend: { orientation: 'h', traceorder: 'normal', y: -0.2, font: { size: 11 } }, annotations: [] };
    METRICS.forEach(([, title], m) => {
      const key = m ? `xaxis${m + 1}` : 'xaxis';
      layout[key] = { type: 'log', domain: [m * 0.345, m * 0.345 + 0.31], anchor: 'y',
        title: { text: 'seconds (log)' }, exponentformat: 'none' };
      layout.annotations.push({ text: `<b>${title}</b>`, xref: 'paper', yref: 'paper',
        x: m * 0.345 + 0.155, y: 1.06, xanchor: 'center', yanchor: 'bottom', showarrow: false });
    });
    return Plotly.newPlot(gd, traces, layout, { displaylogo: false, responsive: true,
      modeBarButtonsToRemove: ['toImage', 'lasso2d', 'select2d'] });
  }

  /* mode: 'e2e' (seconds), 'contact' (seconds, the wait for contact left out) or 'share'. */
  function breakdownTraces(mode) {
    const B = D.breakdown, n = B.ids.length;
    const skip = mode === 'contact' ? B.parts.indexOf('wait for contact') : -1;
    const total = Array.from({ length: n }, (_, i) =>
      B.values.reduce((sum, v, p) => sum + (p === skip ? 0 : v[i]), 0));
    const order = [...Array(n).keys()].sort((a, b) => total[a] - total[b]);
    const x = order.map((_, r) => r + 1);
    return B.parts.map((part, p) => ({
      type: 'scatter', mode: 'lines', x, y: order.map(i => (p === skip ? 0 : B.values[p][i])),
      customdata: order.map(i => B.ids[i]), name: part, stackgroup: 'one',
      groupnorm: mode === 'share' ? 'percent' : '', visible: p === skip ? 'legendonly' : true,
      line: { width: 0.5, color: PART_COLORS[p % PART_COLORS.length] },
      fillcolor: PART_COLORS[p % PART_COLORS.length],
      hovertemplate: `%{customdata}: ${part} %{y:.3s}${mode === 'share' ? ' %' : ' s'}<extra></extra>`,
    }));
  }

  function breakdown() {
    const gd = document.getElementById('breakdown');
    const select = document.getElementById('breakdown-mode');
    const layout = () => ({ margin: { l: 60, r: 16, t: 10, b: 46 }, hovermode: 'x unified',
      xaxis: { title: { text: `finished samples, by latency (${D.breakdown.shown} of ${D.breakdown.finished})` } },
      yaxis: { title: { text: select.value === 'share' ? 'share of end-to-end latency (%)' : 'seconds' },
        rangemode: 'tozero' },
      legend: { orientation: 'h', y: 1.02, yanchor: 'bottom', font: { size: 11 } } });
    const draw = () => Plotly.react(gd, breakdownTraces(select.value), layout(),
      { displaylogo: false, responsive: true, modeBarButtonsToRemove: ['toImage', 'lasso2d', 'select2d'] });
    select.addEventListener('change', draw);
    return draw();
  }

  SV.views.push({ name: 'latency', init: () => Promise.all([cdf(), breakdown()]) });
})();

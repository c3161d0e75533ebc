/* spaceverse view: the controls and the animation loop; runs after every view registered. */
(function () {
  'use strict';
  const SV = window.SV, D = SV.D, state = SV.state;
  const SLOW_MS = 250;  // map, timeline cursor and side panel refresh at most this often ...
  let slowEvery = SLOW_MS;  // ... or less often when they take long (big constellations)
  const $ = id => document.getElementById(id);

  let fromSlider = false;  // the slider moved the clock: leave the slider where the hand put it
  function showTime() {
    $('clock').textContent = `${SV.utc(state.t)}  (${SV.elapsed(state.t)})`;
    if (!fromSlider) $('slider').value = String(Math.round(state.t));
    fromSlider = false;
  }

  function setPlaying(on) {
    state.playing = on && state.t < SV.HORIZON;
    $('play').textContent = state.playing ? '❚❚ pause' : '▶ play';
  }

  SV.select = function (j) {
    state.sel = j;
    $('satellite').value = String(j);
    for (const v of SV.views) if (v.select) v.select();
    state.dirty = true;
  };

  function controls() {
    const slider = $('slider');
    slider.max = String(Math.ceil(SV.HORIZON));
    slider.addEventListener('input', () => { SV.setTime(Number(slider.value)); fromSlider = true; });
    $('play').addEventListener('click', () => {
      if (state.t >= SV.HORIZON) SV.setTime(0);
      setPlaying(!state.playing);
    });
    $('speed').addEventListener('change', () => { state.speed = Number($('speed').value); });
    state.speed = Number($('speed').value);
    const select = $('satellite');
    D.sats.names.forEach((name, j) => {
      const o = document.createElement('option');
      o.value = String(j); o.textContent = name; select.appendChild(o);
    });
    select.addEventListener('change', () => SV.select(Number(select.value)));
  }

  let last = performance.now(), lastSlow = -Infinity;
  function render(now, slow) {
    for (const v of SV.views) if (v.fast) v.fast();
    if (slow) {
      const begin = performance.now();
      for (const v of SV.views) if (v.slow) v.slow();
      lastSlow = now;
      slowEvery = Math.max(SLOW_MS, 4 * (performance.now() - begin));
    }
    showTime();
  }
  function frame(now) {
    const dt = Math.min(0.25, (now - last) / 1000);
    last = now;
    if (state.playing) {
      const t = Math.min(SV.HORIZON, state.t + state.speed * dt);
      SV.setTime(t, Math.max(1, state.speed * dt));
      if (t >= SV.HORIZON) setPlaying(false);
    }
    if (state.dirty) {
      const slow = !state.playing || now - lastSlow >= slowEvery;
      try { render(now, slow); } catch (err) { SV.errors.push(String(err)); throw err; }
      state.dirty = !slow;
    }
    requestAnimationFrame(frame);
  }

  /* Draw everything once, synchronously, at time t (tests and the first paint). */
  SV.renderNow = function () { render(performance.now(), true); state.dirty = false; };

  controls();
  SV.timings = {};
  const timed = v => {
    const begin = performance.now();
    return Promise.resolve(v.init ? v.init() : null).then(() => {
      SV.timings[v.name] = Math.round(performance.now() - begin);
    });
  };
  Promise.all(SV.views.map(timed)).then(() => {
    SV.renderNow();
    SV.ready = true;
    document.body.dataset.ready = '1';
    requestAnimationFrame(frame);
  }).catch(err => { SV.errors.push(String(err)); console.error(err); });
})();

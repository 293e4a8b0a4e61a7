// ccpulse wall (docs/wall.md): shows what the tiles in Redis say, as the
// server pushes them on /wall/events (Server-Sent Events). It never computes
// a KPI: every figure is a field of a tile; the only arithmetic is the
// ticking of the longest wait between updates (meta now_ms - waiting_since_ms,
// advanced by the time since the update arrived) and the comparison of a
// figure with the thresholds of the alert rules for its colour.
// Names (queues, agents, tickets, rules) are producers' data: they go into
// the page with textContent only, never as markup.
'use strict';
(function () {
  const WINDOWS = ['5m', '15m', '1h', 'today'];
  // [id, label, 'w' (window tile) or 'g' (gauges tile), format]
  const FIGS = [
    ['service_level_pct', 'Service level', 'w', 'pct'],
    ['waiting', 'Waiting', 'g', 'count'],
    ['longest_wait_ms', 'Longest wait', 'g', 'clock'],
    ['open', 'Open', 'g', 'count'],
    ['frt_avg_ms', 'First response', 'w', 'dur'],
    ['abandon_pct', 'Abandoned', 'w', 'pct'],
    ['sla_breaches', 'SLA breaches', 'w', 'count'],
    ['csat_pct', 'CSAT', 'w', 'pct'],
  ];
  // A missing key or field is "no data" (docs/redis.md): 0 for counts and
  // count gauges, null (shown as a dash) for the rest.
  const ZERO_WHEN_MISSING = { waiting: 1, open: 1, sla_breaches: 1, opened: 1, handled: 1 };

  const params = new URLSearchParams(location.hash.slice(1));
  const state = {
    win: WINDOWS.includes(params.get('w')) ? params.get('w') : '15m',
    filter: params.get('q') || '',
    tiles: null, // the latest tiles message
    tilesAt: 0, // performance.now() when it arrived
    agents: null,
    alerts: [],
    status: null, // {redis, error, settings, agents}
    open: false, // the EventSource is open
  };
  const tileEls = new Map(); // scope -> {el, figs: {id: {box, val}}}
  const alertEls = new Map(); // alert id -> li

  const $ = (id) => document.getElementById(id);
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function publishInterval() {
    const s = state.status && state.status.settings;
    return s && s.publish_interval_ms > 0 ? s.publish_interval_ms : 250;
  }
  // Stale after 2 publish intervals without a new cycle (at least 1 s).
  function staleAfter() { return Math.max(2 * publishInterval(), 1000); }

  // ---- formatting ----
  function pad2(n) { return (n < 10 ? '0' : '') + n; }
  function fmtClock(ms) {
    const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return h > 0 ? h + ':' + pad2(m) + ':' + pad2(s % 60) : m + ':' + pad2(s % 60);
  }
  function fmt(kind, v) {
    if (v === null || v === undefined || typeof v !== 'number' || !isFinite(v)) return '\u2014';
    switch (kind) {
      case 'pct': return v.toFixed(1) + '%';
      case 'count': return String(Math.round(v));
      case 'dur': return v < 60000 ? (v / 1000).toFixed(1) + ' s' : fmtClock(v);
      case 'clock': return fmtClock(v);
      case 'score': return v.toFixed(0);
      default: return String(v);
    }
  }

  // ---- values: fields of the tiles, nothing computed ----
  function value(sc, id, src) {
    if (src === 'g') {
      const g = sc.gauges;
      if (id === 'longest_wait_ms') {
        if (!g || g.waiting_since_ms === null || g.waiting_since_ms === undefined) return null;
        // exact at the cycle shown (docs/redis.md): meta now_ms - waiting_since_ms
        return state.tiles.now_ms - g.waiting_since_ms;
      }
      if (!g || g[id] === undefined) return ZERO_WHEN_MISSING[id] ? 0 : null;
      return g[id];
    }
    const w = sc.windows && sc.windows[state.win];
    if (!w || w[id] === undefined) return ZERO_WHEN_MISSING[id] ? 0 : null;
    return w[id];
  }

  // ---- colours from the configured alert rules ----
  function holds(op, v, t) {
    switch (op) {
      case '<': return v < t;
      case '<=': return v <= t;
      case '>': return v > t;
      case '>=': return v >= t;
      default: return false;
    }
  }
  function level(rule, v) {
    if (typeof v !== 'number' || !isFinite(v)) return 0;
    if (rule.critical && holds(rule.critical.op, v, rule.critical.threshold)) return 2;
    if (rule.warning && holds(rule.warning.op, v, rule.warning.threshold)) return 1;
    return 0;
  }
  function rulesFor(scope) {
    const s = state.status && state.status.settings;
    const rules = (s && Array.isArray(s.rules)) ? s.rules : [];
    return rules.filter((r) => r.scope === scope && (r.window === null || r.window === state.win));
  }
  const LEVEL_CLASS = ['', 'level-warning', 'level-critical'];

  // ---- tiles ----
  function scopeParts(scope) {
    const i = scope.indexOf(':');
    if (scope === 'all') return ['All queues', ''];
    return i < 0 ? [scope, ''] : [scope.slice(i + 1), scope.slice(0, i)];
  }
  function makeTile(scope) {
    const [name, kind] = scopeParts(scope);
    const el0 = el('article', 'tile' + (scope === 'all' ? ' all' : ''));
    el0.dataset.scope = scope;
    const head = el('div', 'head');
    const h = el('h2', 'name', name);
    h.title = name;
    head.appendChild(h);
    head.appendChild(el('span', 'kind', kind));
    el0.appendChild(head);
    const figs = el('div', 'figs');
    const t = { el: el0, figs: {} };
    for (const [id, label] of FIGS) {
      const box = el('div', 'fig');
      box.dataset.kpi = id;
      box.appendChild(el('div', 'label', label));
      const val = el('div', 'val', '\u2014');
      box.appendChild(val);
      figs.appendChild(box);
      t.figs[id] = { box, val };
    }
    el0.appendChild(figs);
    return t;
  }
  function setText(node, text) {
    if (node.textContent !== text) {
      node.textContent = text;
      node.dataset.changedMs = String(Date.now());
    }
  }
  function renderTiles() {
    const msg = state.tiles;
    if (!msg) return;
    const box = $('tiles');
    const seen = new Set();
    let prev = null;
    for (const sc of msg.scopes) {
      const scope = sc.scope;
      if (typeof scope !== 'string') continue;
      seen.add(scope);
      let t = tileEls.get(scope);
      if (!t) {
        t = makeTile(scope);
        tileEls.set(scope, t);
      }
      const want = prev ? prev.nextSibling : box.firstChild;
      if (want !== t.el) box.insertBefore(t.el, want);
      prev = t.el;
      t.el.hidden = state.filter !== '' && state.filter !== scope;
      const rules = rulesFor(scope);
      let tileLevel = 0;
      for (const r of rules) {
        tileLevel = Math.max(tileLevel, level(r, value(sc, r.kpi, r.window === null ? 'g' : 'w')));
      }
      t.el.classList.remove('level-warning', 'level-critical');
      if (tileLevel) t.el.classList.add(LEVEL_CLASS[tileLevel]);
      for (const [id, , src, kind] of FIGS) {
        const f = t.figs[id];
        const v = value(sc, id, src);
        f.val.dataset.value = v === null || v === undefined ? '' : String(v);
        if (kind === 'clock') f.val.dataset.base = f.val.dataset.value;
        setText(f.val, fmt(kind, v));
        let lv = 0;
        for (const r of rules) if (r.kpi === id) lv = Math.max(lv, level(r, v));
        f.box.classList.remove('level-warning', 'level-critical');
        if (lv) f.box.classList.add(LEVEL_CLASS[lv]);
      }
    }
    for (const [scope, t] of tileEls) {
      if (!seen.has(scope)) {
        t.el.remove();
        tileEls.delete(scope);
      }
    }
    document.body.dataset.cycle = String(msg.cycle);
    document.body.dataset.nowMs = String(msg.now_ms);
    $('clock').textContent = new Date(msg.now_ms).toLocaleTimeString();
    renderFilter(msg.scopes.map((s) => s.scope).filter((s) => typeof s === 'string' && s !== 'all'));
  }

  // The longest wait ticks between updates: the value at the cycle shown plus
  // the time since it arrived, not beyond the stale limit.
  function tick() {
    const since = Math.min(performance.now() - state.tilesAt, staleAfter());
    for (const t of tileEls.values()) {
      const v = t.figs.longest_wait_ms.val;
      if (v.dataset.base) setText(v, fmtClock(Number(v.dataset.base) + since));
    }
    renderStatus();
  }

  // ---- queue filter ----
  let filterKey = '';
  function renderFilter(scopes) {
    const key = scopes.join('\n');
    if (key === filterKey) return;
    filterKey = key;
    const sel = $('filter');
    while (sel.options.length > 1) sel.remove(1);
    for (const s of scopes) {
      const [name, kind] = scopeParts(s);
      const o = el('option', '', kind ? kind + ': ' + name : name);
      o.value = s;
      sel.appendChild(o);
    }
    if (state.filter && !scopes.includes(state.filter)) {
      const o = el('option', '', state.filter + ' (no data)');
      o.value = state.filter;
      sel.appendChild(o);
    }
    sel.value = state.filter;
  }

  // ---- alerts ----
  function alertText(a) {
    const s = (x) => (x === null || x === undefined ? '\u2014'
      : typeof x === 'number' && !Number.isInteger(x) ? x.toFixed(1) : String(x));
    if (a.type === 'threshold' || a.type === 'threshold_resolved') {
      return [s(a.level).toUpperCase(), s(a.rule) + ': ' + s(a.kpi) + ' ' + s(a.scope) +
        (a.window ? ' ' + a.window : '') + ' = ' + s(a.value) + ' (' + s(a.op) + ' ' + s(a.threshold) + ')'];
    }
    if (a.type === 'sla_breach' || a.type === 'sla_at_risk') {
      return [a.type === 'sla_breach' ? 'SLA BREACH' : 'SLA AT RISK',
        'ticket ' + s(a.ticket_id) + ' \u00b7 queue ' + s(a.queue) + ' \u00b7 ' + s(a.channel) +
        (a.agent_id ? ' \u00b7 agent ' + a.agent_id : '')];
    }
    return [s(a.type), JSON.stringify(a)];
  }
  function renderAlerts() {
    const list = $('alerts');
    const keep = new Set();
    let prev = null;
    for (const a of state.alerts) {
      if (!a || typeof a !== 'object') continue;
      const id = String(a.id);
      keep.add(id);
      let li = alertEls.get(id);
      if (!li) {
        li = el('li', String(a.level || a.type || '').replace(/[^a-z_]/g, ''));
        li.dataset.alertId = id;
        li.dataset.shownMs = String(Date.now());
        const at = typeof a.now_ms === 'number' ? new Date(a.now_ms).toLocaleTimeString() : '';
        const [what, text] = alertText(a);
        li.appendChild(el('span', 'when', at));
        li.appendChild(el('span', 'what', what));
        li.appendChild(el('span', 'text', text));
        alertEls.set(id, li);
      }
      const want = prev ? prev.nextSibling : list.firstChild;
      if (want !== li) list.insertBefore(li, want);
      prev = li;
    }
    for (const [id, li] of alertEls) {
      if (!keep.has(id)) {
        li.remove();
        alertEls.delete(id);
      }
    }
    $('alerts-empty').hidden = alertEls.size > 0;
  }

  // ---- agents ----
  function renderAgents() {
    const msg = state.agents;
    const body = $('agents').tBodies[0];
    const rows = msg && Array.isArray(msg.agents) ? msg.agents : [];
    while (body.rows.length > rows.length) body.deleteRow(-1);
    rows.forEach((a, i) => {
      const tr = body.rows[i] || body.insertRow(-1);
      while (tr.cells.length < 7) tr.insertCell(-1);
      const g = a.gauges || {};
      const w = (a.windows && a.windows[state.win]) || {};
      const cells = [String(a.agent), fmt('count', g.open || 0), fmt('count', g.waiting || 0),
        fmt('score', w.score), fmt('count', w.handled || 0), fmt('dur', w.frt_avg_ms), fmt('pct', w.csat_pct)];
      cells.forEach((c, j) => { if (tr.cells[j].textContent !== c) tr.cells[j].textContent = c; });
      tr.dataset.agent = String(a.agent);
    });
    $('agents-note').textContent = msg ? 'top ' + rows.length + ' of ' + msg.total + ' by open tickets' : '';
  }

  // ---- status and staleness ----
  function renderStatus() {
    let why = '';
    if (!state.open) why = 'connection to the wall server lost';
    else if (!state.status) why = 'waiting for the server';
    else if (state.status.redis !== 'ok') why = 'Redis unreachable' + (state.status.error ? ': ' + state.status.error : '');
    else if (!state.tiles) why = 'no figures in Redis yet';
    else {
      const age = performance.now() - state.tilesAt;
      if (age > staleAfter()) why = 'no update for ' + (age / 1000).toFixed(1) + ' s';
    }
    const st = why ? 'stale' : 'live';
    if (document.body.dataset.state !== st) document.body.dataset.state = st;
    const text = why ? 'STALE \u2014 ' + why : 'LIVE';
    if ($('status').textContent !== text) $('status').textContent = text;
    $('stale-rule').textContent = 'stale after ' + (staleAfter() / 1000).toFixed(1) +
      ' s without a new publish cycle.';
  }

  // ---- controls ----
  function saveHash() {
    const p = new URLSearchParams();
    p.set('w', state.win);
    if (state.filter) p.set('q', state.filter);
    history.replaceState(null, '', '#' + p.toString());
  }
  function renderWindows() {
    for (const b of $('windows').querySelectorAll('button')) {
      b.setAttribute('aria-pressed', b.dataset.window === state.win ? 'true' : 'false');
    }
    document.body.dataset.window = state.win;
  }
  $('windows').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b || !WINDOWS.includes(b.dataset.window)) return;
    state.win = b.dataset.window;
    saveHash();
    renderWindows();
    renderTiles();
    renderAgents();
  });
  $('filter').addEventListener('change', (e) => {
    state.filter = e.target.value;
    saveHash();
    renderTiles();
  });

  // ---- the event stream ----
  function parse(e) {
    try { return JSON.parse(e.data); } catch (err) { return null; }
  }
  let es = null;
  function connect() {
    es = new EventSource('events');
    es.onopen = () => { state.open = true; renderStatus(); };
    es.onerror = () => {
      state.open = false;
      renderStatus();
      if (es.readyState === EventSource.CLOSED) { // the browser gave up: start again
        es.close();
        setTimeout(connect, 2000);
      }
    };
    es.addEventListener('tiles', (e) => {
      const m = parse(e);
      if (!m || !Array.isArray(m.scopes)) return;
      state.tiles = m;
      state.tilesAt = performance.now();
      renderTiles();
      renderStatus();
    });
    es.addEventListener('agents', (e) => { state.agents = parse(e); renderAgents(); });
    es.addEventListener('alerts', (e) => {
      const m = parse(e);
      if (Array.isArray(m)) { state.alerts = m; renderAlerts(); }
    });
    es.addEventListener('status', (e) => {
      const m = parse(e);
      if (m) { state.status = m; renderStatus(); renderTiles(); }
    });
  }

  renderWindows();
  renderStatus();
  connect();
  setInterval(tick, 250);
})();

// The dashboard page: plain ES module, no framework. The server sends the mesh picture as the
// same SVG `cdk8s-mesh graph` draws (ELK layout), with `data-node` / `data-edge` hooks; this code
// adds live traffic to the arrows, opens a box's objects on click, draws each release's chart and
// sends promote/resume/abort and explain requests. Cluster text is set with textContent only.

const $ = (id) => document.getElementById(id);
const state = { snapshot: undefined, series: {}, traffic: {}, problems: {}, selected: undefined };

function el(tag, attrs = {}, ...children) {
  const svg = ['svg', 'polyline', 'line', 'text', 'g', 'rect', 'circle'].includes(tag);
  const e = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c);
  return e;
}

// ---- the mesh picture ----------------------------------------------------------------------

function renderGraph() {
  const s = state.snapshot;
  const graph = $('graph');
  if (!s) {
    graph.textContent = 'waiting for the first list from the apiserver…';
    return;
  }
  // The SVG is the server's own rendering: every name in it is escaped there.
  graph.innerHTML = s.svg;
  for (const g of graph.querySelectorAll('[data-node]'))
    g.addEventListener('click', () => showNode(g.getAttribute('data-node')));
  for (const g of graph.querySelectorAll('[data-edge-label]'))
    g.addEventListener('click', () => showEdge(g.getAttribute('data-edge-label')));
  renderTraffic();
  if (state.selected?.node) showNode(state.selected.node);
  if (state.selected?.edge) showEdge(state.selected.edge);
}

const fmt = (n, d = 1) => (n === undefined ? '–' : Number(n).toFixed(d));

function trafficOf(edge) {
  return state.traffic?.[`${edge.from} -> ${edge.to}`];
}

function renderTraffic() {
  const s = state.snapshot;
  if (!s) return;
  for (const e of s.edges) {
    const t = trafficOf(e);
    const line = document.querySelector(`[data-edge-line="${e.id}"]`);
    const path = document.querySelector(`path[data-edge="${e.id}"]`);
    if (line)
      line.textContent = t
        ? `${fmt(t.rps, 2)} rps · ${fmt((t.errorRate ?? 0) * 100)}% 5xx · p99 ${fmt(t.p99Ms, 0)} ms`
        : '';
    if (path) {
      path.classList.remove('hot', 'warm', 'healthy');
      if (t && t.rps > 0)
        path.classList.add(t.errorRate > 0.05 ? 'hot' : t.errorRate > 0.01 ? 'warm' : 'healthy');
    }
  }
}

function detail(title, ...body) {
  $('detail-title').textContent = title;
  $('detail-body').replaceChildren(
    el('button', {
      text: 'close',
      onclick: () => {
        state.selected = undefined;
        $('detail').hidden = true;
      },
    }),
    ...body,
  );
  $('detail').hidden = false;
}

function findingsList(findings) {
  if (!findings.length) return el('p', { text: 'No findings.' });
  return el(
    'ul',
    {},
    ...findings.map((f) => el('li', { text: `${f.severity} ${f.code} ${f.object}: ${f.message}` })),
  );
}

function showNode(key) {
  const n = state.snapshot?.nodes[key];
  if (!n) return;
  state.selected = { node: key };
  detail(
    n.title,
    el('h4', { text: 'Findings' }),
    findingsList(n.findings),
    el('h4', { text: `Objects (${n.objects.length})` }),
    ...n.objects.map((o) =>
      el(
        'details',
        {},
        el('summary', { text: `${o.kind} ${o.namespace}/${o.name}` }),
        el('pre', { text: o.yaml }),
      ),
    ),
  );
}

function showEdge(id) {
  const e = state.snapshot?.edges.find((x) => x.id === id);
  if (!e) return;
  state.selected = { edge: id };
  const t = trafficOf(e);
  const callee = state.snapshot.nodes[e.to];
  detail(
    `${e.from} → ${e.to}`,
    el('p', { text: `${e.kind}: ${e.label}` }),
    el('p', {
      text: t
        ? `${fmt(t.rps, 2)} requests/s, ${fmt((t.errorRate ?? 0) * 100)}% 5xx, p99 ${fmt(t.p99Ms, 0)} ms (last minute)`
        : 'No traffic measured.',
    }),
    el('h4', { text: `Policies and routes of ${e.to}` }),
    ...(callee?.objects ?? []).map((o) =>
      el(
        'details',
        {},
        el('summary', { text: `${o.kind} ${o.namespace}/${o.name}` }),
        el('pre', { text: o.yaml }),
      ),
    ),
    el('h4', { text: 'Findings' }),
    findingsList(callee?.findings ?? []),
  );
}

// ---- releases --------------------------------------------------------------------------------

const messages = {};

function chart(view, points) {
  const W = 600,
    H = 150,
    L = 40,
    B = 20;
  const svg = el('svg', {
    class: 'chart',
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': `success rate and p99 of ${view.name}`,
  });
  const xs = points.map((p) => Date.parse(p.t));
  const x0 = Math.min(...xs),
    x1 = Math.max(...xs, x0 + 1);
  const x = (t) => L + ((Date.parse(t) - x0) / (x1 - x0)) * (W - L - 10);
  const rateY = (v) => 10 + ((100 - Math.max(80, Math.min(100, v))) / 20) * (H - B - 10);
  const maxP99 = Math.max(1, view.latencyP99MaxMs ?? 0, ...points.map((p) => p.p99Ms ?? 0)) * 1.2;
  const p99Y = (v) => H - B - (v / maxP99) * (H - B - 10);
  svg.append(el('line', { x1: L, y1: H - B, x2: W, y2: H - B, stroke: '#a0aec0' }));
  if (view.successRateMin !== undefined)
    svg.append(
      el('line', {
        x1: L,
        x2: W,
        y1: rateY(view.successRateMin),
        y2: rateY(view.successRateMin),
        stroke: '#1b7f3b',
        'stroke-dasharray': '4 3',
        'data-threshold': 'success-rate',
      }),
      el('text', {
        x: 2,
        y: rateY(view.successRateMin) + 4,
        'font-size': 10,
        fill: '#1b7f3b',
        text: `${view.successRateMin}%`,
      }),
    );
  if (view.latencyP99MaxMs !== undefined)
    svg.append(
      el('line', {
        x1: L,
        x2: W,
        y1: p99Y(view.latencyP99MaxMs),
        y2: p99Y(view.latencyP99MaxMs),
        stroke: '#6b46c1',
        'stroke-dasharray': '4 3',
        'data-threshold': 'p99',
      }),
      el('text', {
        x: 2,
        y: p99Y(view.latencyP99MaxMs) + 4,
        'font-size': 10,
        fill: '#6b46c1',
        text: `${view.latencyP99Max}`,
      }),
    );
  // A check of the operator's is a filled dot; a point read back from Prometheus (the time before
  // the dashboard saw the release) a hollow one.
  const line = (key, y, color) => {
    const pts = points
      .filter((p) => p[key] !== undefined)
      .map((p) => ({ cx: x(p.t).toFixed(1), cy: y(p[key]).toFixed(1), source: p.source }));
    if (pts.length)
      svg.append(
        el('polyline', {
          points: pts.map((p) => `${p.cx},${p.cy}`).join(' '),
          fill: 'none',
          stroke: color,
          'stroke-width': 2,
          'data-series': key,
        }),
      );
    for (const p of pts)
      svg.append(
        el('circle', {
          cx: p.cx,
          cy: p.cy,
          r: 2.5,
          fill: p.source === 'prometheus' ? '#fff' : color,
          stroke: color,
          'data-source': p.source ?? 'check',
        }),
      );
  };
  const past = points.filter((p) => p.source === 'prometheus').length;
  line('successRate', rateY, '#1b7f3b');
  line('p99Ms', p99Y, '#6b46c1');
  svg.append(
    el('text', {
      x: L,
      y: H - 4,
      'font-size': 10,
      fill: '#4a5568',
      text: `${points.filter((p) => p.source !== 'prometheus').length} checks${past ? ` + ${past} from Prometheus (hollow)` : ''} · green: success rate (80–100%) · purple: p99 (ms) · dashed: thresholds`,
    }),
  );
  return svg;
}

async function act(view, action) {
  const key = `${view.namespace}/${view.name}`;
  messages[key] = { text: `${action}…`, kind: '' };
  renderReleases();
  try {
    const res = await fetch(
      `/api/releases/${encodeURIComponent(view.namespace)}/${encodeURIComponent(view.name)}/${action}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // The version shown is the write's precondition: if the release changed since, the
        // apiserver refuses (409) and nothing is written.
        body: JSON.stringify({ resourceVersion: view.resourceVersion }),
      },
    );
    const body = await res.json();
    messages[key] = {
      text: `${res.ok ? '' : `${res.status}: `}${body.message}`,
      kind: res.ok ? 'ok' : 'error',
    };
  } catch (e) {
    messages[key] = { text: `the dashboard did not answer: ${e.message}`, kind: 'error' };
  }
  renderReleases();
}

function durationMs(d) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(d ?? '');
  return m ? Number(m[1]) * { ms: 1, s: 1000, m: 60000 }[m[2]] : undefined;
}

function renderReleases() {
  const list = state.snapshot?.releases ?? [];
  const root = $('releases');
  if (!list.length) {
    root.replaceChildren(el('p', { text: state.snapshot ? 'No CanaryReleases in these namespaces.' : '…' }));
    return;
  }
  root.replaceChildren(
    ...list.map((v) => {
      const key = `${v.namespace}/${v.name}`;
      const view = { ...v, latencyP99MaxMs: durationMs(v.latencyP99Max) };
      const m = messages[key];
      return el(
        'article',
        { class: 'release', 'data-release': key, 'data-resource-version': v.resourceVersion ?? '' },
        el(
          'div',
          {},
          el('h3', { text: key }),
          el(
            'div',
            {},
            el('span', { class: `phase ${v.phase}`, 'data-field': 'phase', text: v.phase }),
            ` · step ${Math.min(v.currentStep + 1, v.totalSteps)}/${v.totalSteps} (${v.step})`,
          ),
          el('div', {
            'data-field': 'weights',
            text: `${v.stable.subset ?? 'stable'} ${v.stable.weight}% · ${v.canary.subset ?? 'canary'} ${v.canary.weight}%`,
          }),
          el('div', {
            text: `success rate ${fmt(v.successRate)}% (min ${v.successRateMin ?? '–'}) · p99 ${fmt(v.latencyP99Ms, 0)} ms (max ${v.latencyP99Max ?? '–'})`,
          }),
          v.gate
            ? el('div', {
                text: `waiting at the ${v.gate} gate${v.resumed ? ' (resumed, the operator has not acted yet)' : ''}`,
              })
            : null,
          v.message ? el('div', { class: 'message', text: v.message }) : null,
          el(
            'div',
            {},
            ...['promote', 'resume', 'abort'].map((a) =>
              el('button', { type: 'button', 'data-action': a, text: a, onclick: () => act(v, a) }),
            ),
          ),
          m
            ? el('div', {
                class: `message ${m.kind}`,
                role: 'alert',
                'data-field': 'action-message',
                text: m.text,
              })
            : null,
        ),
        el(
          'div',
          {},
          chart(view, state.series[key] ?? []),
          el(
            'ol',
            { class: 'history' },
            ...v.history.slice(-20).map((h) =>
              el('li', {
                text: `${h.time} ${h.phase} step ${h.step + 1} canary ${h.canaryWeight}% ${h.reason}: ${h.message}`,
              }),
            ),
          ),
        ),
      );
    }),
  );
}

// ---- problems, explain, the event stream -------------------------------------------------------

function renderProblems() {
  $('problems').replaceChildren(...Object.values(state.problems ?? {}).map((m) => el('li', { text: m })));
}

$('explain').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const headers = {};
  for (const h of String(f.get('headers') ?? '').split(';')) {
    const i = h.indexOf(':');
    if (i > 0) headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  const body = {
    from: f.get('from'),
    host: f.get('host'),
    method: f.get('method'),
    path: f.get('path'),
    headers,
  };
  const res = await fetch('/api/explain', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await res.json();
  $('explain-answer').textContent = answer.message;
});

const events = new EventSource('/events');
events.addEventListener('open', () => {
  $('connection').textContent = 'live';
  $('connection').classList.add('live');
});
events.addEventListener('error', () => {
  $('connection').textContent = 'reconnecting…';
  $('connection').classList.remove('live');
});
events.addEventListener('snapshot', (m) => {
  const d = JSON.parse(m.data);
  state.snapshot = d.snapshot ?? undefined;
  state.series = d.series ?? {};
  renderGraph();
  renderReleases();
});
events.addEventListener('traffic', (m) => {
  state.traffic = JSON.parse(m.data) ?? {};
  renderTraffic();
  if (state.selected?.edge) showEdge(state.selected.edge);
});
events.addEventListener('problems', (m) => {
  state.problems = JSON.parse(m.data) ?? {};
  renderProblems();
});

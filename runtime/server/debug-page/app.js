/* global TextDecoderStream, CSS */
// weft's debug page: flows with their step graph, runs with live per-item/per-step
// status (from the run's NDJSON event stream), the event log, human input, cancel.
// Plain ES modules, no build step; the token (if the server wants one) stays in localStorage.
import { escapeHtml, flowGraphSvg } from './graph.js';
import { addChunk, newStreams, renderStreams, showChunk } from './streams.js';

const $ = (id) => document.getElementById(id);
const TERMINAL = ['success', 'failed', 'cancelled'];
const MAX_ROWS = 300;
let token = window.localStorage.getItem('weft-token') ?? '';
let selectedFlowId = null;
let run = null; // {id, status, steps, items: Map, waiting: Map, last, abort}

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const json = await res.json().catch(() => ({}));
  if (res.status === 401) $('token-form').hidden = false;
  if (!res.ok) throw Object.assign(new Error(json.error?.message ?? `HTTP ${res.status}`), { status: res.status, data: json.error?.data });
  return json;
}

// ---- flows ----------------------------------------------------------------------------

async function loadFlows() {
  const { flows } = await api('GET', '/flows');
  $('flows').innerHTML = flows.length === 0 ? '<li class="muted">No flows yet: POST one to /flows or use weft submit.</li>'
    : flows.map((f) => `<li data-flow="${escapeHtml(f.flowId)}" class="${f.flowId === selectedFlowId ? 'selected' : ''}">
        <strong>${escapeHtml(f.name ?? '(unnamed)')}</strong> <code class="muted">${escapeHtml(f.flowId.slice(7, 19))}</code></li>`).join('');
}

async function selectFlow(flowId) {
  selectedFlowId = flowId;
  const { flow } = await api('GET', `/flows/${encodeURIComponent(flowId)}`);
  $('flow-detail').hidden = false;
  $('flow-title').textContent = flow.name ?? flowId;
  $('flow-description').textContent = flow.description ?? '';
  $('flow-graph').innerHTML = flowGraphSvg(flow);
  await loadFlows();
}

async function startRun(event) {
  event.preventDefault();
  const error = $('start-error');
  error.hidden = true;
  try {
    let inputs;
    try { inputs = JSON.parse($('start-inputs').value); } catch (e) { throw new Error(`inputs: not valid JSON: ${e.message}`, { cause: e }); }
    if (!Array.isArray(inputs)) inputs = [inputs];
    const mc = Number($('start-concurrency').value);
    const status = await api('POST', '/runs', { flowId: selectedFlowId, inputs, ...(mc > 0 ? { maxConcurrency: mc } : {}) });
    await loadRuns();
    await selectRun(status.runId);
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  }
}

// ---- runs list ------------------------------------------------------------------------

async function loadRuns() {
  const status = $('runs-filter').value;
  const { runs } = await api('GET', `/runs?limit=50${status ? `&status=${status}` : ''}`);
  $('runs').tBodies[0].innerHTML = runs.map((r) => `<tr data-run="${r.runId}" class="${r.runId === run?.id ? 'selected' : ''}">
      <td><span class="badge s-${r.status}">${r.status}</span></td>
      <td>${escapeHtml(r.flowName ?? r.flowId.slice(7, 19))}</td>
      <td class="muted">${r.items.success + r.items.failed + r.items.cancelled}/${r.items.total}</td>
      <td class="muted mono">${r.runId.slice(-8)}</td></tr>`).join('') || '<tr><td class="muted">No runs.</td></tr>';
}

// ---- one run, live ----------------------------------------------------------------------

async function selectRun(runId) {
  run?.abort.abort();
  const status = await api('GET', `/runs/${runId}`);
  const { flow } = await api('GET', `/flows/${encodeURIComponent(status.flowId)}`);
  run = {
    id: runId, status: status.status, flowName: flow.name ?? status.flowId, createdAt: status.createdAt, total: status.items.total,
    steps: (flow.steps ?? []).map((s) => s.id), items: new Map(), waiting: new Map(), last: 0, abort: new AbortController(),
    streams: newStreams(), selectedItem: 0,
  };
  window.history.replaceState(null, '', `#run=${runId}`);
  $('no-run').hidden = true;
  $('run-detail').hidden = false;
  $('run-id').textContent = runId;
  $('events').tBodies[0].innerHTML = '';
  $('inputs-needed').innerHTML = '';
  renderStreams($('streams'), run.streams, run.selectedItem);
  $('item-title').textContent = `Item ${run.selectedItem}`;
  render();
  void follow(run);
  await loadRuns();
}

/** Reads the run's NDJSON stream from the last seen seq; reconnects until run_completed. */
async function follow(r) {
  // Read at least once: a run that had already ended still has its events (and streams) to show.
  for (let first = true; !r.abort.signal.aborted && (first || !TERMINAL.includes(r.status)); first = false) {
    try {
      const headers = token ? { authorization: `Bearer ${token}` } : {};
      const res = await fetch(`/runs/${r.id}/events?format=ndjson&since=${r.last}`, { headers, signal: r.abort.signal });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const lines = buffer.split('\n');
        buffer = lines.pop();
        for (const line of lines) if (line.trim()) apply(r, JSON.parse(line));
      }
    } catch (e) {
      if (r.abort.signal.aborted) return;
      console.warn('event stream dropped; reconnecting', e);
    }
    if (!TERMINAL.includes(r.status)) await new Promise((ok) => setTimeout(ok, 1000));
  }
}

function item(r, i) {
  let it = r.items.get(i);
  if (!it) r.items.set(i, (it = { status: 'running', steps: new Map() }));
  return it;
}

function apply(r, e) {
  if (e.type === 'heartbeat' || e.seq <= r.last || r !== run) return;
  r.last = e.seq;
  const key = `${e.itemIndex}/${e.stepId}`;
  if (e.type === 'step_output') {
    // Not in the event log (a step may stream thousands): the item view shows the chunks.
    showChunk($('streams'), e.itemIndex, addChunk(r.streams, e));
    return;
  }
  switch (e.type) {
    case 'item_started': item(r, e.itemIndex).status = 'running'; break;
    case 'step_started': item(r, e.itemIndex).steps.set(e.stepId, 'running'); break;
    case 'step_completed': item(r, e.itemIndex).steps.set(e.stepId, 'success'); break;
    case 'step_failed': item(r, e.itemIndex).steps.set(e.stepId, 'failed'); break;
    case 'step_awaiting_input':
      item(r, e.itemIndex).steps.set(e.stepId, 'awaiting_input');
      item(r, e.itemIndex).status = 'paused';
      r.waiting.set(key, { itemIndex: e.itemIndex, stepId: e.stepId, prompt: e.data?.prompt, schema: e.data?.schema });
      break;
    case 'input_received':
      r.waiting.delete(key);
      item(r, e.itemIndex).steps.set(e.stepId, 'running');
      item(r, e.itemIndex).status = 'running';
      break;
    case 'item_completed': item(r, e.itemIndex).status = e.data?.outcome ?? 'success'; break;
    case 'run_status': r.status = e.data?.status ?? r.status; break;
    case 'run_completed':
      r.status = e.data?.status ?? r.status;
      r.waiting.clear();
      void loadRuns();
      break;
  }
  appendEvent(e);
  scheduleRender();
}

function appendEvent(e) {
  const row = document.createElement('tr');
  const where = [e.itemIndex !== undefined ? `item ${e.itemIndex}` : '', e.stepId ?? '', e.attempt ? `#${e.attempt}` : ''].filter(Boolean).join(' ');
  row.innerHTML = `<td>${e.seq}</td><td>${escapeHtml(e.at.slice(11, 23))}</td><td>${escapeHtml(e.type)}</td><td>${escapeHtml(where)}</td>
    <td>${e.data ? escapeHtml(JSON.stringify(e.data)) : ''}</td>`;
  $('events').tBodies[0].append(row);
}

let pending = false;
function scheduleRender() {
  if (pending) return;
  pending = true;
  window.requestAnimationFrame(() => { pending = false; render(); });
}

function render() {
  if (!run) return;
  const status = $('run-status');
  status.textContent = run.status;
  status.className = `badge s-${run.status}`;
  $('cancel-run').disabled = TERMINAL.includes(run.status);
  $('run-meta').textContent = `${run.flowName} · ${run.total} item${run.total === 1 ? '' : 's'} · created ${run.createdAt}`;
  renderItems();
  renderPrompts();
}

function renderItems() {
  const head = `<tr><th>item</th><th>status</th>${run.steps.map((s) => `<th>${escapeHtml(s)}</th>`).join('')}</tr>`;
  const rows = [];
  for (let i = 0; i < Math.min(run.total, MAX_ROWS); i++) {
    const it = run.items.get(i);
    const st = it?.status ?? (TERMINAL.includes(run.status) ? 'cancelled' : 'pending');
    rows.push(`<tr data-item="${i}" class="${i === run.selectedItem ? 'selected' : ''}"><td>${i}</td><td><span class="cell s-${st}">${st}</span></td>${run.steps.map((s) => {
      const v = it?.steps.get(s);
      return `<td>${v ? `<span class="cell s-${v}" data-step="${escapeHtml(s)}">${v.replace('_', ' ')}</span>` : ''}</td>`;
    }).join('')}</tr>`);
  }
  if (run.total > MAX_ROWS) rows.push(`<tr><td colspan="${run.steps.length + 2}" class="muted">… ${run.total - MAX_ROWS} more items</td></tr>`);
  $('items').innerHTML = head + rows.join('');
}

/** One form per waiting step; kept across renders so typing is not lost. */
function renderPrompts() {
  const box = $('inputs-needed');
  for (const form of [...box.children]) if (!run.waiting.has(form.dataset.key)) form.remove();
  for (const [key, w] of run.waiting) {
    if (box.querySelector(`[data-key="${CSS.escape(key)}"]`)) continue;
    const form = document.createElement('form');
    form.className = 'prompt';
    form.dataset.key = key;
    form.innerHTML = `<p><strong>Input needed</strong> · item ${w.itemIndex}, step <code>${escapeHtml(w.stepId)}</code></p>
      <p class="question">${escapeHtml(w.prompt ?? '')}</p>
      ${w.schema !== undefined ? `<details><summary class="muted">schema</summary><pre class="mono">${escapeHtml(JSON.stringify(w.schema, null, 2))}</pre></details>` : ''}
      <label class="muted">Value (JSON)<textarea rows="3" spellcheck="false" name="value"></textarea></label>
      <div class="row"><span></span><button class="primary">Send</button></div>
      <p class="error" hidden></p>`;
    form.addEventListener('submit', (ev) => { ev.preventDefault(); void sendInput(form, w); });
    box.append(form);
  }
}

async function sendInput(form, w) {
  const error = form.querySelector('.error');
  error.hidden = true;
  try {
    let value;
    try { value = JSON.parse(form.elements.value.value); } catch (e) { throw new Error(`not valid JSON: ${e.message}`, { cause: e }); }
    await api('POST', `/runs/${run.id}/events`, { itemIndex: w.itemIndex, stepId: w.stepId, value });
    form.querySelector('button').disabled = true;
  } catch (e) {
    const issues = e.data?.issues?.map((i) => `${i.path}: ${i.message}`).join('\n');
    error.textContent = issues ? `${e.message.split(':')[0]}:\n${issues}` : e.message;
    error.hidden = false;
  }
}

async function cancelRun() {
  if (!run || !window.confirm(`Cancel run ${run.id}?`)) return;
  const status = await api('POST', `/runs/${run.id}/cancel`, {});
  run.status = status.status;
  render();
  await loadRuns();
}

// ---- wiring ---------------------------------------------------------------------------

function guard(fn) {
  return (...args) => fn(...args).catch((e) => console.error(e));
}

$('flows').addEventListener('click', guard(async (e) => {
  const li = e.target.closest('li[data-flow]');
  if (li) await selectFlow(li.dataset.flow);
}));
$('runs').addEventListener('click', guard(async (e) => {
  const tr = e.target.closest('tr[data-run]');
  if (tr) await selectRun(tr.dataset.run);
}));
$('items').addEventListener('click', (e) => {
  const tr = e.target.closest('tr[data-item]');
  if (!tr || !run) return;
  run.selectedItem = Number(tr.dataset.item);
  $('item-title').textContent = `Item ${run.selectedItem}`;
  renderStreams($('streams'), run.streams, run.selectedItem);
  render();
});
$('start-form').addEventListener('submit', guard(startRun));
$('cancel-run').addEventListener('click', guard(cancelRun));
$('runs-filter').addEventListener('change', guard(loadRuns));
$('token-form').addEventListener('submit', guard(async (e) => {
  e.preventDefault();
  token = $('token').value.trim();
  window.localStorage.setItem('weft-token', token);
  $('token-form').hidden = true;
  await boot();
}));

async function boot() {
  const health = await fetch('/health').then((r) => r.json()).catch(() => ({ status: 'unreachable' }));
  $('health').textContent = `server ${health.status}`;
  await loadFlows();
  await loadRuns();
  const m = /#run=([\w-]+)/.exec(window.location.hash);
  if (m && !run) await selectRun(m[1]);
}

window.setInterval(() => { void loadRuns().catch(() => {}); }, 2000);
void boot().catch((e) => console.error(e));

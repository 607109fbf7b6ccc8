/* global TextDecoderStream */
// weft's debug page: flows with their step graph; runs filterable by flow and status, in
// pages; one run, finished or running alike, read from the store through the API
// (progress, counts, the step graph with counts per step, items with result or error,
// one item's steps, the event log, human input); the selected item's streams live; on a
// shared store (PostgreSQL) the executors and where each run's items execute.
// Plain ES modules, no build step, nothing loaded from elsewhere.
import { api, authHeaders, query, setToken, whenUnauthorized } from './api.js';
import { escapeHtml, flowGraphSvg } from './graph.js';
import { loadLog, newLog, readLogFilters, renderLog, setupLogFilters } from './event-log.js';
import { isCluster } from './executor-labels.js';
import { loadExecutors, renderRunHolders } from './executors.js';
import { renderItem } from './item-view.js';
import { renderPrompts } from './prompts.js';
import { TERMINAL, renderCounts, renderItems, renderProgress, renderRunGraph } from './run-view.js';
import { addChunk, newStreams, renderStreams, showChunk } from './streams.js';

const $ = (id) => document.getElementById(id);
const ITEMS_PAGE = 50;
const RUNS_PAGE = 20;
const POLL_MS = 1000;
let selectedFlowId = null;
let flows = [];
const runsList = { offset: 0, next: undefined };
let run = null;

whenUnauthorized(() => { $('token-form').hidden = false; });

// ---- flows ----------------------------------------------------------------------------

async function loadFlows() {
  ({ flows } = await api('GET', '/flows'));
  $('flows').innerHTML = flows.length === 0 ? '<li class="muted">No flows yet: POST one to /flows or use weft submit.</li>'
    : flows.map((f) => `<li data-flow="${escapeHtml(f.flowId)}" class="${f.flowId === selectedFlowId ? 'selected' : ''}">
        <strong>${escapeHtml(f.name ?? '(unnamed)')}</strong> <code class="muted">${escapeHtml(f.flowId.slice(7, 19))}</code></li>`).join('');
  const current = $('runs-flow').value;
  const names = [...new Set(flows.map((f) => f.name).filter((n) => n))].sort();
  $('runs-flow').innerHTML = `<option value="">all flows</option>${names.map((n) => `<option value="${escapeHtml(n)}">${escapeHtml(n)}</option>`).join('')}`;
  $('runs-flow').value = names.includes(current) ? current : '';
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
  const page = await api('GET', `/runs${query({ limit: RUNS_PAGE, offset: runsList.offset, status: $('runs-filter').value, flow: $('runs-flow').value })}`);
  runsList.next = page.nextOffset;
  $('runs').tBodies[0].innerHTML = page.runs.map((r) => `<tr data-run="${escapeHtml(r.runId)}" class="${r.runId === run?.id ? 'selected' : ''}">
      <td><span class="badge s-${escapeHtml(r.status)}">${escapeHtml(r.status)}</span></td>
      <td>${escapeHtml(r.flowName ?? r.flowId.slice(7, 19))}</td>
      <td class="muted">${r.items.success + r.items.failed + r.items.cancelled}/${r.items.total}</td>
      <td class="muted mono">${escapeHtml(r.runId.slice(-8))}</td></tr>`).join('') || '<tr><td class="muted">No runs.</td></tr>';
  $('runs-page').textContent = page.runs.length ? `${runsList.offset + 1}–${runsList.offset + page.runs.length}` : '';
  $('runs-prev').disabled = runsList.offset === 0;
  $('runs-next').disabled = runsList.next === undefined;
}

// ---- one run --------------------------------------------------------------------------

async function selectRun(runId) {
  if (run) { run.closed = true; run.streamAbort.abort(); clearTimeout(run.timer); }
  const status = await api('GET', `/runs/${encodeURIComponent(runId)}`);
  const { flow } = await api('GET', `/flows/${encodeURIComponent(status.flowId)}`);
  run = {
    id: runId, flow, flowName: flow.name ?? status.flowId, steps: (flow.steps ?? []).map((s) => s.id),
    status: status.status, createdAt: status.createdAt, completedAt: status.completedAt, counts: { total: status.items.total, ...status.items },
    samples: [], items: [], holders: [], itemFilter: '', itemFrom: 0, itemStack: [], itemsNext: undefined, stepCounts: [],
    selectedItem: status.items.total > 0 ? 0 : undefined, item: undefined,
    log: newLog(), waiting: new Map(), streams: newStreams(), streamAbort: new AbortController(), closed: false, timer: undefined,
  };
  window.history.replaceState(null, '', `#run=${encodeURIComponent(runId)}`);
  $('no-run').hidden = true;
  $('run-detail').hidden = false;
  $('run-id').textContent = runId;
  $('inputs-needed').innerHTML = '';
  setupLogFilters(run.steps);
  selectItem(run, run.selectedItem);
  await refresh(run);
  await loadRuns();
}

/** Reads the run's state from the server; again every second until it has ended. */
async function refresh(r) {
  clearTimeout(r.timer);
  if (r.closed) return;
  try {
    const status = await api('GET', `/runs/${encodeURIComponent(r.id)}`);
    const [page, steps, item, waiting, holders] = await Promise.all([
      api('GET', `/runs/${encodeURIComponent(r.id)}/items${query({ from: r.itemFrom, limit: ITEMS_PAGE, status: r.itemFilter })}`),
      api('GET', `/runs/${encodeURIComponent(r.id)}/steps`),
      r.selectedItem !== undefined ? api('GET', `/runs/${encodeURIComponent(r.id)}/items/${r.selectedItem}`) : undefined,
      waitingSteps(r),
      isCluster() ? api('GET', `/runs/${encodeURIComponent(r.id)}/executors`).then((h) => h.executors) : [],
      // The log's first page follows the run; a page the user turned to stays as it is.
      r.log.stack.length === 0 || r.log.events.length === 0 ? loadLog(r.id, r.log) : undefined,
    ]);
    if (r.closed) return;
    Object.assign(r, {
      status: status.status, completedAt: status.completedAt, counts: page.counts,
      items: page.items, itemsNext: page.nextFrom, stepCounts: steps.steps, item, waiting, holders,
    });
    render(r);
  } catch (e) {
    console.warn('refresh failed; retrying', e);
  }
  if (!TERMINAL.includes(r.status) && !r.closed) r.timer = setTimeout(() => void refresh(r), POLL_MS);
  else void loadRuns().catch(() => {});
}

/** The steps waiting for input, with their prompts (from the paused items' details). */
async function waitingSteps(r) {
  const waiting = new Map();
  if (!r.counts.paused && r.status !== 'paused') return waiting;
  const { items } = await api('GET', `/runs/${encodeURIComponent(r.id)}/items${query({ status: 'paused', limit: 20 })}`);
  const details = await Promise.all(items.map((it) => api('GET', `/runs/${encodeURIComponent(r.id)}/items/${it.itemIndex}`)));
  for (const d of details) {
    for (const s of d.steps) {
      if (s.state === 'awaiting_input') waiting.set(`${d.itemIndex}/${s.stepId}`, { itemIndex: d.itemIndex, stepId: s.stepId, prompt: s.prompt?.prompt, schema: s.prompt?.schema });
    }
  }
  return waiting;
}

function render(r) {
  const status = $('run-status');
  status.textContent = r.status;
  status.className = `badge s-${r.status}`;
  $('cancel-run').disabled = TERMINAL.includes(r.status);
  renderRunHolders(r.holders);
  $('run-meta').textContent = `${r.flowName} · ${r.counts.total} item${r.counts.total === 1 ? '' : 's'} · created ${r.createdAt}${r.completedAt ? ` · ended ${r.completedAt}` : ''}`;
  renderProgress(r);
  renderCounts(r);
  renderRunGraph(r);
  renderItems(r);
  if (r.item) renderItem(r, r.item);
  renderPrompts($('inputs-needed'), r.id, r.waiting);
  renderLog(r.log);
}

function selectItem(r, index) {
  r.selectedItem = index;
  r.streamAbort.abort();
  r.streamAbort = new AbortController();
  r.streams = newStreams();
  $('item-view').hidden = index === undefined;
  if (index === undefined) return;
  $('item-title').textContent = `Item ${index}`;
  renderStreams($('streams'), r.streams, index);
  void followStreams(r, index, r.streamAbort.signal);
}

/** The item's streamed chunks (step_output events), stored then live, until the run ends. */
async function followStreams(r, itemIndex, signal) {
  let since = 0;
  for (let first = true; !signal.aborted && (first || !TERMINAL.includes(r.status)); first = false) {
    try {
      const res = await fetch(`/runs/${encodeURIComponent(r.id)}/events${query({ format: 'ndjson', types: 'step_output', itemIndex, since })}`, { headers: authHeaders(), signal });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const lines = buffer.split('\n');
        buffer = lines.pop();
        for (const line of lines) {
          if (!line.trim()) continue;
          const e = JSON.parse(line);
          if (e.type !== 'step_output' || e.seq <= since || signal.aborted) continue;
          since = e.seq;
          showChunk($('streams'), itemIndex, addChunk(r.streams, e));
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      console.warn('stream dropped; reconnecting', e);
    }
    if (!TERMINAL.includes(r.status)) await new Promise((ok) => setTimeout(ok, POLL_MS));
  }
}

async function cancelRun() {
  if (!run || !window.confirm(`Cancel run ${run.id}?`)) return;
  await api('POST', `/runs/${encodeURIComponent(run.id)}/cancel`, {});
  await refresh(run);
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
$('items').addEventListener('click', guard(async (e) => {
  const tr = e.target.closest('tr[data-item]');
  if (!tr || !run) return;
  selectItem(run, Number(tr.dataset.item));
  await refresh(run);
}));
$('counts').addEventListener('click', guard(async (e) => {
  const b = e.target.closest('button[data-status]');
  if (!b || !run) return;
  run.itemFilter = run.itemFilter === b.dataset.status ? '' : b.dataset.status;
  run.itemFrom = 0;
  run.itemStack = [];
  await refresh(run);
}));
$('items-next').addEventListener('click', guard(async () => {
  if (!run || run.itemsNext === undefined) return;
  run.itemStack.push(run.itemFrom);
  run.itemFrom = run.itemsNext;
  await refresh(run);
}));
$('items-prev').addEventListener('click', guard(async () => {
  if (!run || run.itemStack.length === 0) return;
  run.itemFrom = run.itemStack.pop();
  await refresh(run);
}));
const relog = guard(async () => {
  if (!run) return;
  readLogFilters(run.log);
  renderLog(await loadLog(run.id, run.log));
});
for (const id of ['log-order', 'log-type', 'log-step', 'log-item']) $(id).addEventListener('change', relog);
$('log-next').addEventListener('click', guard(async () => {
  if (!run || run.log.next === undefined) return;
  run.log.stack.push(run.log.cursor);
  run.log.cursor = run.log.next;
  renderLog(await loadLog(run.id, run.log));
}));
$('log-prev').addEventListener('click', guard(async () => {
  if (!run || run.log.stack.length === 0) return;
  run.log.cursor = run.log.stack.pop();
  renderLog(await loadLog(run.id, run.log));
}));
$('start-form').addEventListener('submit', guard(startRun));
$('cancel-run').addEventListener('click', guard(cancelRun));
const rerun = guard(async () => { runsList.offset = 0; await loadRuns(); });
$('runs-filter').addEventListener('change', rerun);
$('runs-flow').addEventListener('change', rerun);
$('runs-next').addEventListener('click', guard(async () => {
  if (runsList.next === undefined) return;
  runsList.offset = runsList.next;
  await loadRuns();
}));
$('runs-prev').addEventListener('click', guard(async () => {
  runsList.offset = Math.max(0, runsList.offset - RUNS_PAGE);
  await loadRuns();
}));
$('token-form').addEventListener('submit', guard(async (e) => {
  e.preventDefault();
  setToken($('token').value.trim());
  $('token-form').hidden = true;
  await boot();
}));

async function boot() {
  const health = await fetch('/health').then((r) => r.json()).catch(() => ({ status: 'unreachable' }));
  $('health').textContent = `server ${health.status}`;
  // Only a shared store has executors: the rest of the page works without them.
  await loadExecutors().catch((e) => console.warn('executors not loaded', e));
  await loadFlows();
  await loadRuns();
  const m = /#run=([\w-]+)/.exec(window.location.hash);
  if (m && !run) await selectRun(m[1]);
}

window.setInterval(() => { void loadRuns().catch(() => {}); void loadExecutors().catch(() => {}); }, 2000);
void boot().catch((e) => console.error(e));

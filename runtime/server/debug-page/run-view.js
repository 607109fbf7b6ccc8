// The selected run's overview: progress (items/s, ETA), counts per status, the step graph
// with counts per step, and the page of items with each one's steps, result or error (and
// on a shared store the executor holding or having run each one).
import { escapeHtml, flowGraphSvg } from './graph.js';
import { executorLabel, isCluster } from './executor-labels.js';

export const TERMINAL = ['success', 'failed', 'cancelled'];
const STATUSES = ['pending', 'running', 'paused', 'success', 'failed', 'cancelled'];
const RATE_WINDOW_MS = 10_000;

const $ = (id) => document.getElementById(id);

/** `1.2 s`, `3 min 4 s`, `2 h 5 min`. */
export function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A one-line preview of a value (results and errors in the items table). */
export function preview(value, max = 140) {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? 'null';
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * Items per second: over the samples of the last seconds while the run goes on (the
 * page polls), over the whole run once it has finished.
 */
export function progressOf(r, nowMs = Date.now()) {
  const c = r.counts;
  const done = c.success + c.failed + c.cancelled;
  const total = c.total;
  const started = Date.parse(r.createdAt);
  let rate;
  if (TERMINAL.includes(r.status)) {
    const took = Date.parse(r.completedAt ?? '') - started;
    rate = took > 0 ? (done / took) * 1000 : undefined;
    return { done, total, rate, took, eta: 0 };
  }
  r.samples.push({ t: nowMs, done });
  while (r.samples.length > 2 && nowMs - r.samples[0].t > RATE_WINDOW_MS) r.samples.shift();
  const first = r.samples[0];
  if (r.samples.length >= 2 && nowMs - first.t >= 1000 && done > first.done) rate = ((done - first.done) / (nowMs - first.t)) * 1000;
  else if (done > 0 && nowMs > started) rate = (done / (nowMs - started)) * 1000;
  const eta = rate ? ((total - done) / rate) * 1000 : undefined;
  return { done, total, rate, eta };
}

export function renderProgress(r) {
  const p = progressOf(r);
  const pct = p.total > 0 ? (100 * p.done) / p.total : TERMINAL.includes(r.status) ? 100 : 0;
  $('progress-fill').style.width = `${pct.toFixed(1)}%`;
  $('progress-fill').className = `fill s-${r.counts.failed > 0 ? 'failed' : TERMINAL.includes(r.status) ? 'success' : 'running'}`;
  $('progress').setAttribute('aria-valuenow', String(Math.round(pct)));
  const rate = p.rate === undefined ? '— items/s' : `${p.rate >= 10 ? Math.round(p.rate) : p.rate.toFixed(1)} items/s`;
  const tail = TERMINAL.includes(r.status) ? `took ${duration(p.took)}` : p.eta === undefined ? 'ETA —' : `ETA ${duration(p.eta)}`;
  $('progress-text').textContent = `${p.done} / ${p.total} items · ${rate} · ${tail}`;
}

export function renderCounts(r) {
  $('counts').innerHTML = STATUSES.map((s) => `<button type="button" class="count s-${s}${r.itemFilter === s ? ' active' : ''}" data-status="${s}" aria-pressed="${r.itemFilter === s}">
    <span class="n">${r.counts[s] ?? 0}</span> ${s}</button>`).join('');
}

export function renderRunGraph(r) {
  const counts = Object.fromEntries(r.stepCounts.map((c) => [c.stepId, c]));
  $('run-graph').innerHTML = flowGraphSvg(r.flow, { counts });
}

/** Where an item runs (running or paused: the executor holding it) or ran (finished), as host:pid. */
export function executorCell(it) {
  if (!it.executorId) return '';
  const held = it.status === 'running' || it.status === 'paused';
  const claims = it.attempt > 1 ? ` (claim ${it.attempt})` : '';
  return `<span class="mono${held ? '' : ' muted'}" data-executor="${escapeHtml(it.executorId)}" title="${held ? 'held by' : 'ran on'} executor ${escapeHtml(it.executorId)}${claims}">${escapeHtml(executorLabel(it.executorId))}</span>`;
}

export function renderItems(r) {
  const steps = r.steps;
  const cluster = isCluster();
  const head = `<tr><th>item</th><th>status</th>${cluster ? '<th>executor</th>' : ''}${steps.map((s) => `<th>${escapeHtml(s)}</th>`).join('')}<th>result / error</th></tr>`;
  const rows = r.items.map((it) => {
    const outcome = it.result?.outcome === 'success'
      ? `<span class="result mono">${escapeHtml(preview(it.result.result))}</span>`
      : it.result?.outcome === 'failed' ? `<span class="error-text">${escapeHtml(preview(it.result.error?.message ?? it.result.error, 200))}</span>` : '';
    return `<tr data-item="${it.itemIndex}" class="${it.itemIndex === r.selectedItem ? 'selected' : ''}"><td>${it.itemIndex}</td>
      <td><span class="cell s-${escapeHtml(it.status)}">${escapeHtml(it.status)}</span></td>${cluster ? `<td class="executor-cell">${executorCell(it)}</td>` : ''}${steps.map((s) => {
      const v = it.steps[s];
      return `<td>${v ? `<span class="cell s-${escapeHtml(v)}" data-step="${escapeHtml(s)}">${escapeHtml(v.replace('_', ' '))}</span>` : ''}</td>`;
    }).join('')}<td class="outcome">${outcome}</td></tr>`;
  });
  if (rows.length === 0) rows.push(`<tr><td colspan="${steps.length + (cluster ? 4 : 3)}" class="muted">No items${r.itemFilter ? ` with status ${escapeHtml(r.itemFilter)}` : ''}.</td></tr>`);
  $('items').innerHTML = head + rows.join('');
  const first = r.items[0]?.itemIndex;
  const last = r.items.at(-1)?.itemIndex;
  $('items-page').textContent = r.items.length ? `items ${first}–${last}${r.itemFilter ? ` (${r.itemFilter})` : ''} of ${r.counts.total}` : '';
  $('items-prev').disabled = r.itemStack.length === 0;
  $('items-next').disabled = r.itemsNext === undefined;
}

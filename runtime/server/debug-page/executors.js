// The processes sharing a PostgreSQL store (GET /executors): each one's short id, role,
// host:pid, lease status, heartbeat age and the items it holds; and the run's line saying
// where its items execute. On a store of one process the list is empty and the panel
// stays hidden.
import { api } from './api.js';
import { escapeHtml } from './graph.js';
import { duration } from './run-view.js';
import { setExecutors, shortId } from './executor-labels.js';

const $ = (id) => document.getElementById(id);
/** Executors that have ended (left: stopping; swept: dead) stay in the table: only the newest few are shown. */
const ENDED_SHOWN = 5;

export async function loadExecutors() {
  const { executors } = await api('GET', '/executors');
  setExecutors(executors);
  renderExecutors(executors);
}

function renderExecutors(executors, nowMs = Date.now()) {
  $('executors-panel').hidden = executors.length === 0;
  if (executors.length === 0) return;
  const alive = executors.filter((e) => e.status === 'alive');
  const ended = executors.filter((e) => e.status !== 'alive');
  const ago = (at) => `${duration(Math.max(0, nowMs - Date.parse(at)))} ago`;
  const rows = [...alive, ...ended.slice(0, ENDED_SHOWN)].map((e) => `<tr data-executor="${escapeHtml(e.id)}" class="${e.status === 'alive' ? '' : 'muted'}">
      <td class="mono" title="${escapeHtml(e.id)}">${escapeHtml(shortId(e.id))}</td>
      <td>${escapeHtml(e.role)}</td>
      <td class="mono where">${escapeHtml(`${e.host}:${e.pid}`)}</td>
      <td><span class="badge s-${escapeHtml(e.status)}">${escapeHtml(e.status)}</span></td>
      <td class="muted">${e.status !== 'alive' && e.endedAt ? `ended ${ago(e.endedAt)}` : ago(e.heartbeatAt)}</td>
      <td class="held">${e.holding}</td>
      <td class="muted">${e.capacity}</td></tr>`);
  if (ended.length > ENDED_SHOWN) rows.push(`<tr><td colspan="7" class="muted">and ${ended.length - ENDED_SHOWN} older ended executors</td></tr>`);
  $('executors').tBodies[0].innerHTML = rows.join('');
  $('executors-summary').textContent = `${alive.length} alive · ${alive.reduce((n, e) => n + e.holding, 0)} items held`;
}

/** The run's line "executing on host:pid × n, …" (GET /runs/:id/executors), hidden when nothing holds its items. */
export function renderRunHolders(holders) {
  const el = $('run-holders');
  el.hidden = holders.length === 0;
  el.innerHTML = holders.length === 0 ? '' : `executing on ${holders.map((h) => `<span class="holder mono" data-executor="${escapeHtml(h.executorId)}" title="executor ${escapeHtml(h.executorId)}">${escapeHtml(`${h.host}:${h.pid}`)} × ${h.items}</span>`).join(' ')}`;
}

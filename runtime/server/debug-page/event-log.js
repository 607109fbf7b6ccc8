// The run's event log from GET /runs/:id/log: one page at a time, newest or oldest first,
// filtered by type, item and step. The first page follows the run; later pages stay put.
import { api, query } from './api.js';
import { escapeHtml } from './graph.js';
import { preview } from './run-view.js';

export const EVENT_TYPES = [
  'run_created', 'run_status', 'item_started', 'step_started', 'step_output', 'step_awaiting_input', 'input_received',
  'sub_run_created', 'step_completed', 'step_failed', 'item_completed', 'run_completed',
];
const PAGE = 50;
const $ = (id) => document.getElementById(id);

export function newLog() {
  return { order: 'newest', type: '', item: '', step: '', cursor: undefined, stack: [], next: undefined, events: [] };
}

/** Fills the type and step filters (once per run). */
export function setupLogFilters(steps) {
  $('log-type').innerHTML = `<option value="">all but step_output</option>${EVENT_TYPES.map((t) => `<option>${t}</option>`).join('')}`;
  $('log-step').innerHTML = `<option value="">all steps</option>${steps.map((s) => `<option value="${escapeHtml(s)}">${escapeHtml(s)}</option>`).join('')}`;
  $('log-order').value = 'newest';
  $('log-item').value = '';
}

export function readLogFilters(log) {
  log.order = $('log-order').value;
  log.type = $('log-type').value;
  log.item = $('log-item').value.trim();
  log.step = $('log-step').value;
  log.cursor = undefined;
  log.stack = [];
}

export async function loadLog(runId, log) {
  const types = log.type || EVENT_TYPES.filter((t) => t !== 'step_output').join(',');
  const page = await api('GET', `/runs/${encodeURIComponent(runId)}/log${query({
    order: log.order, limit: PAGE, cursor: log.cursor, types, itemIndex: log.item, stepId: log.step,
  })}`);
  log.events = page.events;
  log.next = page.next;
  return log;
}

export function renderLog(log) {
  $('events').tBodies[0].innerHTML = log.events.map((e) => {
    const where = [e.itemIndex !== undefined ? `item ${e.itemIndex}` : '', e.stepId ?? '', e.attempt ? `#${e.attempt}` : ''].filter(Boolean).join(' ');
    return `<tr data-seq="${e.seq}" data-type="${escapeHtml(e.type)}"><td>${e.seq}</td><td>${escapeHtml(String(e.at).slice(11, 23))}</td><td>${escapeHtml(e.type)}</td>
      <td>${escapeHtml(where)}</td><td>${e.data ? escapeHtml(preview(e.data, 300)) : ''}</td></tr>`;
  }).join('') || '<tr><td colspan="5" class="muted">No events match.</td></tr>';
  $('log-page').textContent = `page ${log.stack.length + 1}`;
  $('log-prev').disabled = log.stack.length === 0;
  $('log-next').disabled = log.next === undefined;
}

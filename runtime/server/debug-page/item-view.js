// The selected item: its input and result, the step graph coloured by its step states,
// each step's input, output, error, attempt and duration, its streams (streams.js), and
// on a shared store the executor holding it (or that ran it).
import { escapeHtml, flowGraphSvg } from './graph.js';
import { duration, executorCell } from './run-view.js';

const $ = (id) => document.getElementById(id);

const json = (v) => escapeHtml(JSON.stringify(v, null, 2) ?? 'null');

function block(title, cls, body) {
  return `<div class="kv ${cls}"><h4>${title}</h4><pre class="mono">${body}</pre></div>`;
}

export function renderItem(r, item) {
  const where = item.executorId ? ` <span id="item-executor" class="muted hint">${item.status === 'running' || item.status === 'paused' ? 'held by' : 'ran on'} ${executorCell(item)}${item.attempt > 1 ? ` · claim ${item.attempt}` : ''}</span>` : '';
  $('item-title').innerHTML = `Item ${item.itemIndex} <span class="badge s-${escapeHtml(item.status)}" id="item-status">${escapeHtml(item.status)}</span>${where}`;
  $('item-graph').innerHTML = flowGraphSvg(r.flow, { states: Object.fromEntries(item.steps.map((s) => [s.stepId, s.state])) });
  const result = item.result?.outcome === 'success' ? block('Result', 'output', json(item.result.result))
    : item.result?.outcome === 'failed' ? block('Error', 'error', escapeHtml(errorText(item.result.error))) : '';
  $('item-io').innerHTML = block('Input', 'input', json(item.input)) + result;
  $('item-steps').innerHTML = item.steps.map((s) => {
    const meta = [
      s.attempt !== undefined ? (s.attempt === 0 ? 'not called' : `attempt ${s.attempt}`) : '',
      s.durationMs !== undefined ? duration(s.durationMs) : s.startedAt ? `since ${escapeHtml(s.startedAt.slice(11, 19))}` : '',
    ].filter(Boolean).join(' · ');
    const parts = [];
    if (s.input !== undefined) parts.push(block('Input', 'input', json(s.input)));
    else if (s.inputError) parts.push(block('Input', 'input error', escapeHtml(`could not be resolved: ${errorText(s.inputError)}`)));
    if (s.output !== undefined) parts.push(block('Output', 'output', json(s.output)));
    if (s.error) parts.push(block('Error', 'error', escapeHtml(errorText(s.error))));
    if (s.prompt) parts.push(block('Asks', 'input', escapeHtml(s.prompt.prompt)));
    return `<div class="step-card" data-step="${escapeHtml(s.stepId)}" data-state="${escapeHtml(s.state)}">
      <div class="step-head"><strong>${escapeHtml(s.stepId)}</strong> <code class="muted">${escapeHtml(s.component)}</code>
        <span class="cell s-${escapeHtml(s.state)}">${escapeHtml(s.state.replace('_', ' '))}</span> <span class="muted meta">${meta}</span></div>
      ${parts.length ? `<div class="step-body">${parts.join('')}</div>` : ''}</div>`;
  }).join('');
}

/** `message` plus the component's own error (kept in `data`), without stack traces. */
export function errorText(error) {
  if (!error || typeof error !== 'object') return String(error);
  const lines = [`${error.kind ?? error.code ?? 'error'}: ${error.message ?? ''}`];
  const inner = error.data?.data?.message ?? (typeof error.data?.message === 'string' && error.data.message !== error.message ? error.data.message : undefined);
  if (inner && !String(error.message).includes(inner)) lines.push(inner);
  return lines.join('\n');
}

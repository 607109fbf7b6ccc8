/* global CSS */
// One form per step waiting for a human, generated from the schema it asks for
// (schema-form.js); forms are kept across refreshes so typing is not lost.
import { api } from './api.js';
import { escapeHtml } from './graph.js';
import { schemaFields } from './schema-form.js';

/** `waiting`: Map key → {itemIndex, stepId, prompt, schema}. */
export function renderPrompts(box, runId, waiting) {
  for (const form of [...box.children]) if (!waiting.has(form.dataset.key)) form.remove();
  for (const [key, w] of waiting) {
    if (box.querySelector(`[data-key="${CSS.escape(key)}"]`)) continue;
    const form = document.createElement('form');
    form.className = 'prompt';
    form.noValidate = true; // the server's schema check is the one that counts; its issues show inline
    form.dataset.key = key;
    form.innerHTML = `<p><strong>Input needed</strong> · item ${w.itemIndex}, step <code>${escapeHtml(w.stepId)}</code></p>
      <p class="question">${escapeHtml(w.prompt ?? '')}</p>
      <div class="fields"></div>
      ${w.schema !== undefined ? `<details><summary class="muted">schema</summary><pre class="mono">${escapeHtml(JSON.stringify(w.schema, null, 2))}</pre></details>` : ''}
      <div class="row"><span></span><button class="primary">Send</button></div>
      <p class="error" hidden></p>`;
    const fields = schemaFields(form.querySelector('.fields'), w.schema);
    form.addEventListener('submit', (ev) => { ev.preventDefault(); void send(form, fields, runId, w); });
    box.append(form);
  }
}

async function send(form, fields, runId, w) {
  const error = form.querySelector('.error');
  error.hidden = true;
  fields.clear();
  let value;
  try {
    value = fields.collect();
  } catch (e) {
    const rest = fields.showIssues([{ path: e.field ?? '', message: e.message }]);
    if (rest.length) { error.textContent = e.message; error.hidden = false; }
    return;
  }
  try {
    await api('POST', `/runs/${encodeURIComponent(runId)}/events`, { itemIndex: w.itemIndex, stepId: w.stepId, value });
    form.querySelector('button').disabled = true;
  } catch (e) {
    const issues = e.data?.issues ?? [];
    const rest = fields.showIssues(issues);
    if (issues.length === 0 || rest.length > 0) {
      error.textContent = rest.length ? rest.map((i) => `${i.path}: ${i.message}`).join('\n') : e.message;
      error.hidden = false;
    }
  }
}

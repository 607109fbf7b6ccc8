/* global CSS */
// The item view's streams: the chunks a step streams (step_output events), live, per step
// and stream of the selected item. Text is appended as it comes; JSON chunks one per line;
// bytes as their size. Chunks of an attempt that was later abandoned (crash, retry) stay,
// struck through, marked with their attempt.
import { escapeHtml } from './graph.js';

const MAX_CHARS = 200_000;

/** Per item → per `step/stream` → { stepId, stream, parts: [{attempt, text}], chars }. */
export function newStreams() { return new Map(); }

function describe(e) {
  const d = e.data ?? {};
  if (d.encoding === 'text') return String(d.chunk);
  if (d.encoding === 'base64') return `[${Math.floor((String(d.chunk).length * 3) / 4)} bytes]\n`;
  return `${JSON.stringify(d.chunk)}\n`;
}

/** Records a step_output event; returns the stream it went to. */
export function addChunk(streams, e) {
  let byKey = streams.get(e.itemIndex);
  if (!byKey) streams.set(e.itemIndex, (byKey = new Map()));
  const key = `${e.stepId}/${e.data?.stream}`;
  let s = byKey.get(key);
  if (!s) byKey.set(key, (s = { key, stepId: e.stepId, stream: e.data?.stream, parts: [], chars: 0 }));
  let part = s.parts.at(-1);
  if (!part || part.attempt !== e.attempt) s.parts.push((part = { attempt: e.attempt, text: '' }));
  const text = describe(e);
  if (s.chars < MAX_CHARS) { part.text += text; s.chars += text.length; }
  return { s, part, text };
}

/** Renders the selected item's streams into `box` (all of them, from what was recorded). */
export function renderStreams(box, streams, itemIndex) {
  const byKey = streams.get(itemIndex);
  box.dataset.item = String(itemIndex);
  if (!byKey || byKey.size === 0) {
    box.innerHTML = `<p class="muted">Item ${itemIndex} has streamed nothing (yet).</p>`;
    return;
  }
  box.innerHTML = '';
  for (const s of byKey.values()) box.append(streamBox(s));
}

/** Appends a chunk to the open item view, if it shows that item. */
export function showChunk(box, itemIndex, { s, part, text }) {
  if (box.dataset.item !== String(itemIndex)) return;
  let el = box.querySelector(`[data-stream-key="${CSS.escape(s.key)}"]`);
  if (!el) { box.querySelector('p.muted')?.remove(); box.append(streamBox(s)); return; }
  const pre = el.querySelector('pre');
  let span = pre.lastElementChild;
  if (!span || span.dataset.attempt !== String(part.attempt)) {
    for (const old of pre.children) old.classList.add('abandoned');
    span = attemptSpan(part.attempt, '');
    pre.append(span);
  }
  if (s.chars <= MAX_CHARS) span.append(text);
  pre.scrollTop = pre.scrollHeight;
}

function streamBox(s) {
  const el = document.createElement('div');
  el.className = 'stream';
  el.dataset.streamKey = s.key;
  el.dataset.step = s.stepId;
  el.dataset.stream = s.stream;
  el.innerHTML = `<p class="muted">step <code>${escapeHtml(s.stepId)}</code> · stream <code>${escapeHtml(s.stream)}</code></p><pre class="mono"></pre>`;
  const pre = el.querySelector('pre');
  s.parts.forEach((p, i) => {
    const span = attemptSpan(p.attempt, p.text);
    if (i < s.parts.length - 1) span.classList.add('abandoned');
    pre.append(span);
  });
  return el;
}

function attemptSpan(attempt, text) {
  const span = document.createElement('span');
  span.dataset.attempt = String(attempt);
  span.title = `attempt ${attempt}`;
  span.textContent = text;
  return span;
}

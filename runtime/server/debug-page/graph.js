// Draws a flow's step graph as inline SVG: steps as boxes, `$step` references as edges,
// laid out in layers (a step sits one layer below the deepest step it reads from).
// Optionally coloured by state: one item's step states, or a run's counts per step.

const W = 150, GX = 18, GY = 34, PAD = 10;
const COUNT_LABELS = [['success', '✓'], ['failed', '✗'], ['running', '▶'], ['awaiting_input', '⏸'], ['pending', '…'], ['not_run', '–']];

/** The state a step's box shows for a run: what most needs attention first. */
export function aggregateState(c) {
  if (c.awaiting_input > 0) return 'awaiting_input';
  if (c.running > 0) return 'running';
  if (c.failed > 0) return 'failed';
  if (c.success > 0 && c.pending === 0) return 'success';
  return c.success > 0 ? 'running' : 'pending';
}

/** `✓2 ✗1 …3`: the non-zero counts, in a fixed order. */
export function countsText(c) {
  return COUNT_LABELS.filter(([k]) => c[k] > 0).map(([k, sym]) => `${sym}${c[k]}`).join(' ') || '–';
}

function countsTitle(c) {
  return COUNT_LABELS.filter(([k]) => c[k] > 0).map(([k]) => `${c[k]} ${k.replace('_', ' ')}`).join(', ') || 'no items';
}

/** Ids of the steps an expression references (`$literal` contents are data). */
export function stepRefs(expr, out = new Set()) {
  if (Array.isArray(expr)) expr.forEach((e) => stepRefs(e, out));
  else if (expr && typeof expr === 'object') {
    if ('$literal' in expr) return out;
    if (typeof expr.$step === 'string') out.add(expr.$step);
    Object.values(expr).forEach((v) => stepRefs(v, out));
  }
  return out;
}

function readsInput(expr) {
  if (Array.isArray(expr)) return expr.some(readsInput);
  if (expr && typeof expr === 'object') return !('$literal' in expr) && ('$input' in expr || Object.values(expr).some(readsInput));
  return false;
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * SVG markup for `flow`. `view.states` (step id → state) colours each step by one item's
 * state; `view.counts` (step id → {success, failed, ...}) adds a run's counts per step.
 */
export function flowGraphSvg(flow, view = {}) {
  const H = view.counts ? 54 : 40;
  const steps = flow.steps ?? [];
  const nodes = [{ id: '(input)', label: 'input', io: true, deps: [] }];
  const layer = new Map([['(input)', 0]]);
  for (const s of steps) {
    const refs = [...stepRefs(s.input)].filter((r) => layer.has(r));
    const deps = refs.length === 0 || readsInput(s.input) ? ['(input)', ...refs] : refs;
    layer.set(s.id, 1 + Math.max(...deps.map((d) => layer.get(d))));
    nodes.push({ id: s.id, label: s.id, component: s.component, deps });
  }
  const outRefs = [...stepRefs(flow.output)].filter((r) => layer.has(r));
  const outDeps = outRefs.length > 0 ? outRefs : (readsInput(flow.output) ? ['(input)'] : []);
  layer.set('(output)', 1 + Math.max(0, ...outDeps.map((d) => layer.get(d))));
  nodes.push({ id: '(output)', label: 'output', io: true, deps: outDeps });

  const rows = [];
  for (const n of nodes) (rows[layer.get(n.id)] ??= []).push(n);
  const widest = Math.max(...rows.map((r) => (r ? r.length : 0)));
  const width = PAD * 2 + widest * W + (widest - 1) * GX;
  const pos = new Map();
  rows.forEach((row, y) => {
    if (!row) return;
    const rowWidth = row.length * W + (row.length - 1) * GX;
    row.forEach((n, x) => pos.set(n.id, { x: (width - rowWidth) / 2 + x * (W + GX), y: PAD + y * (H + GY) }));
  });
  const height = PAD * 2 + rows.length * H + (rows.length - 1) * GY;

  const edges = nodes.flatMap((n) => n.deps.map((d) => {
    const a = pos.get(d), b = pos.get(n.id);
    const x1 = a.x + W / 2, y1 = a.y + H, x2 = b.x + W / 2, y2 = b.y;
    const my = (y1 + y2) / 2;
    return `<path d="M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2 - 4}" marker-end="url(#arrow)"><title>${escapeHtml(d)} → ${escapeHtml(n.id)}</title></path>`;
  }));
  const boxes = nodes.map((n) => {
    const { x, y } = pos.get(n.id);
    const c = n.component ? view.counts?.[n.id] : undefined;
    const state = n.component ? (c ? aggregateState(c) : view.states ? (view.states[n.id] ?? 'pending') : undefined) : undefined;
    const text = n.component
      ? `<text x="${x + 8}" y="${y + 16}">${escapeHtml(clip(n.label, 20))}</text><text class="component" x="${x + 8}" y="${y + 31}">${escapeHtml(clip(n.component, 26))}</text>`
        + (c ? `<text class="counts" x="${x + 8}" y="${y + 47}">${escapeHtml(countsText(c))}</text>` : '')
      : `<text x="${x + W / 2}" y="${y + H / 2 + 4}" text-anchor="middle">${escapeHtml(n.label)}</text>`;
    const title = n.component ? `${n.id}: ${n.component}${state ? ` (${c ? countsTitle(c) : state.replace('_', ' ')})` : ''}` : n.label;
    return `<g class="${n.io ? 'io' : 'step'}${state ? ` st-${escapeHtml(state)}` : ''}" data-step="${escapeHtml(n.id)}"${state ? ` data-state="${escapeHtml(state)}"` : ''}><rect x="${x}" y="${y}" width="${W}" height="${H}" rx="5"></rect>${text}<title>${escapeHtml(title)}</title></g>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="step graph">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8aa6d8" stroke="none"></path></marker></defs>
${edges.join('\n')}
${boxes.join('\n')}
</svg>`;
}

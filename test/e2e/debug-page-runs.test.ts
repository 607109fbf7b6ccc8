import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, hasChromium, launchChromium } from '../helpers/chromium.js';
import { httpCall } from '../helpers/http-call.js';
import { httpWorkspace, type HttpWorkspace } from '../helpers/http-workspace.js';
import { startWeftServer, type WeftServer } from '../helpers/weft-server.js';

// The debug page on finished and running runs, in a real browser (Debian's Chromium,
// headless) against a real `weft serve`, its SQLite store and a real component server.

const ARTIFACTS = resolve(import.meta.dirname, '../artifacts');
if (!hasChromium) console.warn(`skipping the debug-page run tests: ${CHROMIUM} is not installed (apt-get install chromium)`);

const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>&amp;"\'';
const SCHEMA = 'https://stepflow.org/schemas/v1/flow.json';
const NAP_FLOW = (name: string) => ({
  schema: SCHEMA, name,
  steps: [
    { id: 'nap', component: '/runs/sleep', input: { ms: { $input: 'ms' }, fail: { $input: 'fail' }, value: { $input: 'n' } } },
    { id: 'echo', component: '/runs/echo', input: { napped: { $step: 'nap', path: 'value' }, label: { $input: 'label' } } },
  ],
  output: { $step: 'echo' },
});
const FORM_FLOW = {
  schema: SCHEMA, name: 'signup',
  steps: [{
    id: 'ask', component: '/builtin/await_input', input: {
      prompt: 'Who are you?',
      schema: {
        type: 'object', required: ['name', 'age'],
        properties: {
          name: { type: 'string', title: 'Name', minLength: 1 },
          age: { type: 'integer', minimum: 0, description: 'in years' },
          color: { enum: ['red', 'green'] },
          subscribe: { type: 'boolean' },
          tags: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  }],
  output: { $step: 'ask' },
};

let ws: HttpWorkspace;
let server: WeftServer;
let browser: Browser | undefined;
const errors: string[] = [];

async function submit(flow: unknown, inputs: unknown[], extra: Record<string, unknown> = {}): Promise<string> {
  const r = await httpCall(server.url, 'POST', '/runs', { body: { flow, inputs, ...extra } });
  expect(r.json?.runId, r.text).toBeTypeOf('string');
  return r.json.runId as string;
}

async function open(runId: string, width = 1280): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width, height: 900 } });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/#run=${runId}`);
  await page.locator('#run-id', { hasText: runId }).waitFor();
  return page;
}

const texts = (page: Page, selector: string) => page.locator(selector).allTextContents();

beforeAll(async () => {
  if (!hasChromium) return;
  ws = httpWorkspace();
  server = await startWeftServer(ws.dir);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  if (server) expect(await server.stop()).toBe(0);
  ws?.cleanup();
});

describe.skipIf(!hasChromium)('debug page: runs', () => {
  it('a finished run shows each item\'s status with its result or error, counts, progress, the step graph and the log', async () => {
    const runId = await submit(NAP_FLOW('finished'), [
      { ms: 0, n: 1, fail: false, label: 'one' },
      { ms: 0, n: 2, fail: true, label: 'two' },
      { ms: 0, n: 3, fail: false, label: HOSTILE },
    ], { wait: true });
    const page = await open(runId);
    await page.locator('#run-status', { hasText: 'failed' }).waitFor();
    await expect.poll(() => texts(page, '#items tr[data-item] td:nth-child(2) .cell')).toEqual(['success', 'failed', 'success']);
    expect(JSON.parse((await page.locator('#items tr[data-item="0"] .result').textContent())!)).toEqual({ napped: 1, label: 'one' });
    expect(await page.locator('#items tr[data-item="1"] .error-text').textContent()).toMatch(/failed on purpose: 2/);
    expect(await texts(page, '#items .cell[data-step="nap"]')).toEqual(['success', 'failed', 'success']);

    // Counts per status, and a progress bar that says it is done.
    expect(await page.locator('#counts [data-status="success"] .n').textContent()).toBe('2');
    expect(await page.locator('#counts [data-status="failed"] .n').textContent()).toBe('1');
    expect(await page.locator('#counts [data-status="cancelled"] .n').textContent()).toBe('0');
    expect(await page.locator('#progress-text').textContent()).toMatch(/^3 \/ 3 items · [\d.]+ items\/s · took \d/);
    expect(await page.locator('#progress-fill').evaluate((e) => (e as unknown as { style: { width: string } }).style.width)).toBe('100%');

    // The run's step graph: counts per step, coloured by state.
    const nap = page.locator('#run-graph g.step[data-step="nap"]');
    expect(await nap.getAttribute('data-state')).toBe('failed');
    expect(await nap.locator('text.counts').textContent()).toBe('✓2 ✗1');

    // The event log, newest first, then oldest first.
    await expect.poll(() => page.locator('#events tr[data-seq]').count()).toBeGreaterThan(10);
    expect(await page.locator('#events tr[data-seq]').first().getAttribute('data-type')).toBe('run_completed');
    await page.selectOption('#log-order', 'oldest');
    await expect.poll(() => page.locator('#events tr[data-seq]').first().getAttribute('data-type')).toBe('run_created');

    // A hostile string in a result is shown as text, never run or parsed as markup.
    expect(JSON.parse((await page.locator('#items tr[data-item="2"] .result').textContent())!)).toEqual({ napped: 3, label: HOSTILE });
    await page.locator('#items tr[data-item="2"]').click();
    await expect.poll(() => page.locator('#item-steps .step-card[data-step="echo"] .output pre').textContent()).toContain(HOSTILE.replace(/"/g, '\\"'));
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('main script').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the item view shows the input, each step\'s input, output, error, attempt and duration, and colours the graph by its states', async () => {
    const runId = await submit(NAP_FLOW('item-view'), [{ ms: 0, n: 1, fail: false, label: 'ok' }, { ms: 0, n: 2, fail: true, label: 'bad' }], { wait: true });
    const page = await open(runId);
    await page.locator('#items tr[data-item="1"]').click();
    await page.locator('#item-status', { hasText: 'failed' }).waitFor();
    expect(JSON.parse((await page.locator('#item-io .input pre').textContent())!)).toEqual({ ms: 0, n: 2, fail: true, label: 'bad' });
    expect(await page.locator('#item-io .error pre').textContent()).toMatch(/COMPONENT_FAILED: step "nap" failed: .*failed on purpose: 2/);
    const napCard = page.locator('#item-steps .step-card[data-step="nap"]');
    expect(await napCard.getAttribute('data-state')).toBe('failed');
    expect(JSON.parse((await napCard.locator('.input pre').textContent())!)).toEqual({ ms: 0, fail: true, value: 2 });
    expect(await napCard.locator('.error pre').textContent()).toMatch(/failed on purpose: 2/);
    expect(await napCard.locator('.meta').textContent()).toMatch(/^attempt 1 · \d+(\.\d)? (ms|s)$/);
    const echoCard = page.locator('#item-steps .step-card[data-step="echo"]');
    expect(await echoCard.locator('.meta').textContent()).toMatch(/^not called/);
    expect(await echoCard.locator('.input pre').textContent()).toMatch(/could not be resolved/);
    expect(await page.locator('#item-graph g.step[data-step="nap"]').getAttribute('data-state')).toBe('failed');

    await page.locator('#items tr[data-item="0"]').click();
    await page.locator('#item-status', { hasText: 'success' }).waitFor();
    expect(JSON.parse((await page.locator('#item-io .output pre').textContent())!)).toEqual({ napped: 1, label: 'ok' });
    expect(JSON.parse((await page.locator('#item-steps .step-card[data-step="echo"] .input pre').textContent())!)).toEqual({ napped: 1, label: 'ok' });
    expect(JSON.parse((await page.locator('#item-steps .step-card[data-step="nap"] .output pre').textContent())!)).toEqual({ value: 1 });
    expect(await page.locator('#item-graph g.step[data-state="success"]').count()).toBe(2);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a running run shows progress with items/s and an ETA, a running item and step, then its end', async () => {
    const runId = await submit(NAP_FLOW('running'), [
      { ms: 0, n: 1, fail: false, label: 'a' }, { ms: 0, n: 2, fail: false, label: 'b' }, { ms: 60_000, n: 3, fail: false, label: 'slow' },
    ], { maxConcurrency: 1 });
    const page = await open(runId);
    await expect.poll(() => page.locator('#items tr[data-item="2"] .cell[data-step="nap"]').textContent(), { timeout: 15_000 }).toBe('running');
    expect(await page.locator('#run-status').textContent()).toBe('running');
    expect(await page.locator('#items tr[data-item="2"] td:nth-child(2) .cell').textContent()).toBe('running');
    expect(await page.locator('#counts [data-status="running"] .n').textContent()).toBe('1');
    expect(await page.locator('#counts [data-status="success"] .n').textContent()).toBe('2');
    await expect.poll(() => page.locator('#progress-text').textContent()).toMatch(/^2 \/ 3 items · [\d.]+ items\/s · ETA \d/);
    expect(await page.locator('#run-graph g.step[data-step="nap"]').getAttribute('data-state')).toBe('running');
    expect(await page.locator('#run-graph g.step[data-step="nap"] text.counts').textContent()).toBe('✓2 ▶1');

    expect((await httpCall(server.url, 'POST', `/runs/${runId}/cancel`, { body: {} })).status).toBe(200);
    await page.locator('#run-status', { hasText: 'cancelled' }).waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator('#items tr[data-item="2"] td:nth-child(2) .cell').textContent()).toBe('cancelled');
    expect(await page.locator('#progress-text').textContent()).toMatch(/^3 \/ 3 items · .* · took /);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('pages and filters the event log and the items of a large run', async () => {
    const inputs = Array.from({ length: 60 }, (_, n) => ({ ms: 0, n, fail: n === 7, label: `#${n}` }));
    const runId = await submit(NAP_FLOW('large'), inputs, { wait: true });
    const page = await open(runId);
    await expect.poll(() => page.locator('#events tr[data-seq]').count()).toBe(50);
    const seqs = async () => (await page.locator('#events tr[data-seq]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq')))));
    const first = await seqs();
    expect(first).toEqual([...first].sort((a, b) => b - a));
    await page.click('#log-next');
    await expect.poll(() => page.locator('#log-page').textContent()).toBe('page 2');
    const second = await seqs();
    expect(Math.max(...second)).toBeLessThan(Math.min(...first));
    await page.click('#log-prev');
    await expect.poll(async () => (await seqs())[0]).toBe(first[0]);

    await page.selectOption('#log-type', 'step_failed');
    await expect.poll(async () => texts(page, '#events tr[data-seq] td:nth-child(4)')).toEqual(['item 7 echo', 'item 7 nap #1']);
    await page.selectOption('#log-type', '');
    await page.fill('#log-item', '12');
    await page.locator('#log-item').dispatchEvent('change');
    // Until the filtered page is in (the unfiltered one has several texts too): item 12's events only, more than one kind.
    await expect.poll(async () => {
      const shown = await texts(page, '#events tr[data-seq] td:nth-child(4)');
      return shown.every((t) => t.startsWith('item 12')) && new Set(shown).size > 1;
    }).toBe(true);
    await page.selectOption('#log-step', 'echo');
    await expect.poll(async () => texts(page, '#events tr[data-seq] td:nth-child(3)')).toEqual(['step_completed', 'step_started']);

    // Items: 50 per page; the counts filter the table.
    expect(await page.locator('#items tr[data-item]').count()).toBe(50);
    await page.click('#items-next');
    await expect.poll(() => page.locator('#items tr[data-item]').first().getAttribute('data-item')).toBe('50');
    expect(await page.locator('#items tr[data-item]').count()).toBe(10);
    await page.click('#counts [data-status="failed"]');
    await expect.poll(() => page.locator('#items tr[data-item]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-item')))).toEqual(['7']);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('filters the runs list by flow and status, in pages', async () => {
    for (let i = 0; i < 21; i++) await submit(NAP_FLOW('many'), [{ ms: 0, n: i, fail: false, label: 'x' }], { wait: true });
    const lonely = await submit(NAP_FLOW('lonely'), [{ ms: 0, n: 0, fail: true, label: 'x' }], { wait: true });
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.locator('#runs-flow option[value="lonely"]').waitFor({ state: 'attached' });
    await page.selectOption('#runs-flow', 'lonely');
    await expect.poll(() => texts(page, '#runs tr[data-run] td:nth-child(2)')).toEqual(['lonely']);
    expect(await page.locator('#runs tr[data-run]').getAttribute('data-run')).toBe(lonely);

    await page.selectOption('#runs-flow', 'many');
    await expect.poll(() => page.locator('#runs tr[data-run]').count()).toBe(20);
    expect(new Set(await texts(page, '#runs tr[data-run] td:nth-child(2)'))).toEqual(new Set(['many']));
    await page.click('#runs-next');
    await expect.poll(() => page.locator('#runs tr[data-run]').count()).toBe(1);
    expect(await page.locator('#runs-page').textContent()).toBe('21–21');
    await page.click('#runs-prev');
    await expect.poll(() => page.locator('#runs tr[data-run]').count()).toBe(20);

    await page.selectOption('#runs-flow', '');
    await page.selectOption('#runs-filter', 'failed');
    await expect.poll(async () => new Set(await texts(page, '#runs tr[data-run] td:nth-child(1)'))).toEqual(new Set(['failed']));
    expect(await texts(page, '#runs tr[data-run] td:nth-child(2)')).toContain('lonely');
    expect(await texts(page, '#runs tr[data-run] td:nth-child(2)')).not.toContain('many');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('asks for human input with fields generated from the schema, shows the server\'s errors at their fields, sends the value', async () => {
    const runId = await submit(FORM_FLOW, [{}]);
    const page = await open(runId);
    const form = page.locator('.prompt');
    await form.waitFor({ timeout: 15_000 });
    expect(await form.locator('.question').textContent()).toBe('Who are you?');
    expect(await form.locator('input[data-path="name"]').getAttribute('type')).toBe('text');
    expect(await form.locator('input[data-path="age"]').getAttribute('type')).toBe('number');
    expect(await form.locator('select[data-path="color"] option').allTextContents()).toEqual(['—', 'red', 'green']);
    expect(await form.locator('input[data-path="subscribe"]').getAttribute('type')).toBe('checkbox');
    expect(await form.locator('.field[data-path="name"] .label').textContent()).toBe('Name *');
    expect(await form.locator('.field[data-path="age"] .hint').textContent()).toBe('in years');
    // Only the array, which no plain field expresses, gets a JSON box.
    expect(await form.locator('textarea').evaluateAll((ts) => ts.map((t) => t.getAttribute('data-path')))).toEqual(['tags']);

    await form.locator('input[data-path="name"]').fill('');
    await form.locator('input[data-path="age"]').fill('-3');
    await form.locator('button').click();
    await form.locator('.field[data-path="name"] .field-error').waitFor();
    expect(await form.locator('.field[data-path="name"] .field-error').textContent()).toMatch(/must NOT have fewer than 1 characters/);
    expect(await form.locator('.field[data-path="age"] .field-error').textContent()).toMatch(/must be >= 0/);
    expect(await form.locator('input[data-path="age"]').getAttribute('aria-invalid')).toBe('true');
    expect((await httpCall(server.url, 'GET', `/runs/${runId}`)).json.status).toBe('paused');

    await form.locator('input[data-path="name"]').fill('Ada');
    await form.locator('input[data-path="age"]').fill('36');
    await form.locator('select[data-path="color"]').selectOption({ label: 'green' });
    await form.locator('input[data-path="subscribe"]').check();
    await form.locator('textarea[data-path="tags"]').fill('["math", "engines"]');
    await form.locator('button').click();
    await page.locator('#run-status', { hasText: 'success' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('.prompt').count()).toBe(0);
    const final = await httpCall(server.url, 'GET', `/runs/${runId}?includeResults=true`);
    expect(final.json.results[0].result.value).toEqual({ value: { name: 'Ada', age: 36, color: 'green', subscribe: true, tags: ['math', 'engines'] } });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('fits an 800 px wide window and loads nothing from elsewhere', async () => {
    const runId = await submit(NAP_FLOW('narrow'), [{ ms: 0, n: 1, fail: false, label: 'a'.repeat(300) }, { ms: 0, n: 2, fail: true, label: 'b' }], { wait: true });
    const page = await browser!.newPage({ viewport: { width: 800, height: 1000 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/#run=${runId}`);
    await page.locator('#run-status', { hasText: 'failed' }).waitFor();
    await page.locator('#item-steps .step-card').first().waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth') as number).toBeLessThanOrEqual(800);
    for (const id of ['#run-detail', '#items', '#item-view', '#events', '#runs']) {
      const box = (await page.locator(id).boundingBox())!;
      expect(box.x, id).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, id).toBeLessThanOrEqual(800);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'debug-page-800.png'), fullPage: true });

    expect(requests.length).toBeGreaterThan(5);
    expect(requests.filter((u) => !u.startsWith(`${server.url}/`))).toEqual([]);
    // Nor could it: no file of the page names another origin (the SVG namespace is a name, not a request).
    for (const file of ['index.html', 'style.css', 'app.js', 'api.js', 'graph.js', 'run-view.js', 'item-view.js', 'event-log.js', 'prompts.js', 'schema-form.js', 'streams.js']) {
      const text = (await httpCall(server.url, 'GET', file === 'index.html' ? '/' : `/debug/${file}`)).text;
      expect(text.length, file).toBeGreaterThan(100);
      expect(text.replaceAll('http://www.w3.org/2000/svg', ''), file).not.toMatch(/https?:\/\/|url\(\s*['"]?\/\//);
    }
    expect(errors).toEqual([]);
    await page.close();
  });
});

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { CHROMIUM, hasChromium, launchChromium } from '../helpers/chromium.js';
import { httpCall } from '../helpers/http-call.js';
import { fixtureServerPath } from '../helpers/spawn-sdk-server.js';
import { startWeftServer, type WeftServer } from '../helpers/weft-server.js';

// The debug page's item view shows a step's stream live, in a real browser (Debian's
// Chromium, headless) against a real `weft serve` and a real streaming component server.

if (!hasChromium) console.warn(`skipping the debug-page stream test: ${CHROMIUM} is not installed (apt-get install chromium)`);

let dir: string;
let server: WeftServer;
let browser: Browser | undefined;

const flow = (component: string) => ({
  schema: 'https://stepflow.org/schemas/v1/flow.json', name: `streams ${component}`,
  steps: [{ id: 'gen', component, input: { $input: '$' } }], output: { $step: 'gen' },
});

beforeAll(async () => {
  if (!hasChromium) return;
  dir = mkdtempSync(join(tmpdir(), 'weft-debug-streams-'));
  writeFileSync(join(dir, 'weft.config.yml'), `plugins:
  s: {type: stepflow, transport: stdio, command: node, args: [${JSON.stringify(fixtureServerPath('streaming-server.mjs'))}]}
routes:
  "/s/{component}": [{plugin: s}]
`);
  server = await startWeftServer(dir);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  if (server) expect(await server.stop()).toBe(0);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function startRun(component: string, input: unknown): Promise<string> {
  const flowId = (await httpCall(server.url, 'POST', '/flows', { body: flow(component) })).json.flowId as string;
  const r = await httpCall(server.url, 'POST', '/runs', { body: { flowId, inputs: [input] } });
  expect(r.json?.runId, r.text).toBeTypeOf('string');
  return r.json.runId as string;
}

describe('debug page: streamed output in the item view', () => {
  it.skipIf(!hasChromium)('shows a chunk while its step still runs, then the rest, and marks an abandoned attempt', async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 820 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    const release = join(dir, 'release');
    const runId = await startRun('/s/gated', { release });
    await page.goto(`${server.url}/#run=${runId}`);
    const pre = page.locator('#streams .stream[data-step="gen"][data-stream="default"] pre');
    await expect.poll(() => pre.textContent(), { timeout: 15_000 }).toBe('first');
    // The component waits for `release`, which does not exist yet: the step is still running.
    expect(existsSync(release)).toBe(false);
    expect(await page.locator('#items .cell[data-step="gen"]').textContent()).toBe('running');
    expect((await httpCall(server.url, 'GET', `/runs/${runId}`)).json.status).toBe('running');
    writeFileSync(release, '');
    await expect.poll(() => pre.textContent(), { timeout: 15_000 }).toBe('firstsecond');
    await page.locator('#run-status', { hasText: 'success' }).waitFor({ timeout: 15_000 });

    // A crash mid-stream: attempt 1's chunks stay, struck through; the retry's follow.
    const crashed = await startRun('/s/crash_mid_stream', { before: 2, after: 2 });
    // A new page: only the hash would change, which does not reload this one.
    const second = await browser!.newPage({ viewport: { width: 1280, height: 820 } });
    second.on('pageerror', (e) => errors.push(e.message));
    await second.goto(`${server.url}/#run=${crashed}`);
    await second.locator('#run-status', { hasText: 'success' }).waitFor({ timeout: 20_000 });
    const spans = second.locator('#streams .stream[data-step="gen"] pre span');
    await expect.poll(() => spans.count(), { timeout: 15_000 }).toBe(2);
    expect(await spans.nth(0).getAttribute('data-attempt')).toBe('1');
    expect(await spans.nth(0).getAttribute('class')).toBe('abandoned');
    expect(await spans.nth(0).textContent()).toBe('a1-0a1-1');
    expect(await spans.nth(1).textContent()).toBe('a2-0a2-1');
    expect(errors).toEqual([]);
  });
});

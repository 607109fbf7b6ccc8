import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { CHROMIUM, hasChromium, launchChromium } from '../helpers/chromium.js';
import { httpCall } from '../helpers/http-call.js';
import { HTTP_FLOWS, httpWorkspace, type HttpWorkspace } from '../helpers/http-workspace.js';
import { startWeftServer, type WeftServer } from '../helpers/weft-server.js';

// The debug page in a real browser (Debian's Chromium, headless) against a real server.

const ARTIFACTS = resolve(import.meta.dirname, '../artifacts');
const DOCS_SHOT = resolve(import.meta.dirname, '../../docs/debug-page.png');
if (!hasChromium) console.warn(`skipping the debug-page browser test: ${CHROMIUM} is not installed (apt-get install chromium)`);

let ws: HttpWorkspace;
let server: WeftServer;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!hasChromium) return;
  ws = httpWorkspace();
  server = await startWeftServer(ws.dir);
  for (const name of ['slow.yaml', 'ask.yaml'] as const) {
    await httpCall(server.url, 'POST', '/flows', { body: HTTP_FLOWS[name], contentType: 'application/yaml' });
  }
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  if (server) expect(await server.stop()).toBe(0);
  ws?.cleanup();
});

describe('debug page', () => {
  it.skipIf(!hasChromium)('starts a run, shows its items finish, answers a human-input prompt through the form', async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 820 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);

    // Flows, each with its step graph.
    await page.locator('#flows li', { hasText: 'slow' }).click();
    await expect.poll(() => page.locator('#flow-graph svg g.step').count()).toBe(2);
    expect(await page.locator('#flow-graph svg path[marker-end]').count()).toBeGreaterThanOrEqual(3);

    // Start a run of three items and watch them finish.
    await page.fill('#start-inputs', JSON.stringify([1, 2, 3].map((n) => ({ ms: 200, n }))));
    await page.click('#start-run');
    await page.locator('#run-status', { hasText: 'success' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('#items tr[data-item] td:nth-child(2) .cell').allTextContents()).toEqual(['success', 'success', 'success']);
    expect(await page.locator('#items .cell[data-step="echo"]').allTextContents()).toEqual(['success', 'success', 'success']);
    expect(await page.locator('#events tr', { hasText: 'run_completed' }).count()).toBe(1);
    const slowRunId = await page.locator('#run-id').textContent();
    const api = await httpCall(server.url, 'GET', `/runs/${slowRunId}`);
    expect(api.json.status).toBe('success');

    // A run that asks a human: the prompt shows, a wrong value is refused with the schema path, a right one resumes.
    await page.locator('#flows li', { hasText: 'ask' }).click();
    await page.locator('#flow-title', { hasText: 'ask' }).waitFor();
    await page.fill('#start-inputs', '[{}]');
    await page.click('#start-run');
    const prompt = page.locator('.prompt');
    await prompt.waitFor({ timeout: 15_000 });
    await page.locator('#run-status', { hasText: 'paused' }).waitFor();
    expect(await prompt.locator('.question').textContent()).toBe('What is your name?');
    await prompt.locator('input[data-path="name"]').fill('');
    await prompt.locator('button').click();
    await prompt.locator('.field[data-path="name"] .field-error').waitFor();
    expect(await prompt.locator('.field[data-path="name"] .field-error').textContent()).toMatch(/must NOT have fewer than 1 characters/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'debug-page-prompt.png'), fullPage: true });
    // The README's picture (viewport only, to keep it small): refreshed on request only,
    // so a test run never modifies a tracked file. WEFT_UPDATE_DOCS=1 npx vitest run <this file>
    if (process.env.WEFT_UPDATE_DOCS === '1') await page.screenshot({ path: DOCS_SHOT });

    await prompt.locator('input[data-path="name"]').fill('Ada');
    await prompt.locator('button').click();
    await page.locator('#run-status', { hasText: 'success' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('.prompt').count()).toBe(0);
    const askRunId = await page.locator('#run-id').textContent();
    const final = await httpCall(server.url, 'GET', `/runs/${askRunId}?includeResults=true`);
    expect(final.json.results[0].result.value).toEqual({ hello: 'Ada' });

    await page.screenshot({ path: join(ARTIFACTS, 'debug-page.png'), fullPage: true });
    expect(statSync(DOCS_SHOT).size).toBeGreaterThan(10_000);

    // Cancel goes through the server's checks for web pages (its own Origin, a JSON body).
    await page.fill('#start-inputs', '[{}]');
    await page.click('#start-run');
    await page.locator('#run-status', { hasText: 'paused' }).waitFor({ timeout: 15_000 });
    page.once('dialog', (dialog) => { void dialog.accept(); });
    await page.click('#cancel-run');
    await page.locator('#run-status', { hasText: 'cancelled' }).waitFor({ timeout: 15_000 });
    const cancelledId = await page.locator('#run-id').textContent();
    expect(cancelledId).not.toBe(askRunId);
    expect((await httpCall(server.url, 'GET', `/runs/${cancelledId}`)).json.status).toBe('cancelled');
    expect(errors).toEqual([]);
  }, 60_000);
});

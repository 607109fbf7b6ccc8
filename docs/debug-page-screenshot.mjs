// Takes docs/debug-page.png, the README's picture of the debug page, from a real
// `weft serve` (built dist/, the test fixture component server) in Debian's Chromium:
//   npm run build && node docs/debug-page-screenshot.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'weft-shot-'));
writeFileSync(join(dir, 'weft.config.yml'), `plugins:
  builtin: {type: builtin}
  runs: {type: stepflow, transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(join(root, 'test/fixtures/servers/runs-server.mjs'))}]}
routes:
  "/runs/{component}": [{plugin: runs}]
  "/builtin/{*component}": [{plugin: builtin}]
`);
const server = spawn(process.execPath, [join(root, 'bin/weft.js'), 'serve', '--port', '0', '--store', 'memory'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((ok, fail) => {
  let out = '';
  server.stdout.on('data', (d) => { out += d; const m = /listening on (http:\/\/[^\s"]+)/.exec(out); if (m) ok(m[1]); });
  server.on('exit', (code) => fail(new Error(`weft serve exited ${code}`)));
});
const post = async (path, body) => (await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();

const flow = {
  schema: 'https://stepflow.org/schemas/v1/flow.json', name: 'enrich', description: 'looks each customer up, then scores them',
  steps: [
    { id: 'lookup', component: '/runs/sleep', input: { ms: { $input: 'ms' }, fail: { $input: 'fail' }, value: { $input: 'email' } } },
    { id: 'score', component: '/runs/echo', input: { customer: { $step: 'lookup', path: 'value' }, tier: 'pro' } },
  ],
  output: { $step: 'score' },
};
const { flowId } = await post('/flows', flow);
const inputs = Array.from({ length: 40 }, (_, i) => ({ ms: 30 + (i % 5) * 20, fail: i % 13 === 5, email: `user${i}@example.com` }));
const run = await post('/runs', { flowId, inputs, maxConcurrency: 4 });

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1360, height: 1300 } });
  await page.goto(`${url}/#run=${run.runId}`);
  await page.locator('#flows li').first().click();
  await page.locator('#run-status', { hasText: 'failed' }).waitFor({ timeout: 30_000 });
  await page.locator('#items tr[data-item="5"]').click();
  await page.locator('#item-status', { hasText: 'failed' }).waitFor();
  await page.screenshot({ path: join(root, 'docs/debug-page.png') });
  console.log('wrote docs/debug-page.png');
} finally {
  await browser.close();
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

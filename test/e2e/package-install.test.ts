import { execFile, spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { readmeSnippets, weftCommands } from '../helpers/readme-snippets.js';
import { tempDir } from '../helpers/temp-dir.js';

// The package as a user gets it: `npm pack`, installed into a scratch project outside the
// repository, then the README's own snippets run there against the installed copy.
const ROOT = resolve(import.meta.dirname, '../..');
const sh = promisify(execFile);
const snippets = readmeSnippets();
const SLOW = 240_000;

async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = ''; let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

describe('the packed tarball, installed outside the repository', () => {
  const scratch = tempDir('weft-install-');
  let files: string[] = [];
  let installLog = '';

  beforeAll(async () => {
    // dist/ is built by `npm test`'s pretest; `npm pack` builds it too (prepare), which is
    // skipped here so that no other test sees dist/ half rewritten.
    const packDir = tempDir('weft-pack-');
    const { stdout } = await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: ROOT });
    const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    files = info.files.map((f) => f.path);
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
    // better-sqlite3 at the version the repo built, with install scripts off: its native
    // module (built by the repo's `npm ci`, same Node) is reused, because compiling it again
    // takes minutes here and tests better-sqlite3, not weft.
    const sqliteVersion = (JSON.parse(readFileSync(join(ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string }).version;
    const install = await run('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', join(packDir, info.filename), `better-sqlite3@${sqliteVersion}`], scratch);
    installLog = install.stdout + install.stderr;
    expect(install.code, installLog).toBe(0);
    const release = join(scratch, 'node_modules/better-sqlite3/build/Release');
    mkdirSync(release, { recursive: true });
    copyFileSync(join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), join(release, 'better_sqlite3.node'));
    for (const name of ['double.mjs', 'flow.yaml', 'weft.config.yml', 'embed.mjs', 'client.mjs']) {
      const text = snippets.get(name);
      expect(text, `README snippet ${name}`).toBeDefined();
      writeFileSync(join(scratch, name), text!);
    }
  }, SLOW);

  it('ships exactly what users need', () => {
    for (const f of ['bin/weft.js', 'dist/runtime/api/index.js', 'dist/runtime/api/index.d.ts', 'dist/sdk/index.js', 'dist/runtime/client/index.js',
      'dist/protocol/index.js', 'schemas/flow.json', 'runtime/server/debug-page/index.html', 'README.md', 'LICENSE', 'CHANGELOG.md', 'package.json']) {
      expect(files, f).toContain(f);
    }
    const stray = files.filter((f) => !/^(dist\/(protocol|sdk|runtime)\/|bin\/|schemas\/|runtime\/server\/debug-page\/|README\.md$|LICENSE$|CHANGELOG\.md$|package\.json$)/.test(f));
    expect(stray).toEqual([]);
    expect(files.some((f) => f.endsWith('.map'))).toBe(false);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepare, 'npm pack builds dist/').toMatch(/npm run build/);
  });

  it('keeps docs/http.md\'s client snippet identical to the tested one', () => {
    expect(readmeSnippets(join(ROOT, 'docs/http.md')).get('client.mjs')).toBe(snippets.get('client.mjs'));
  });

  it('installs on this Node without engine warnings', () => {
    expect(installLog).not.toMatch(/EBADENGINE|Unsupported engine/);
  });

  it("runs the README's component server, flow and config with npx weft run", async () => {
    const [args] = weftCommands(snippets.get('run-double.sh')!);
    const r = await run('npx', args, scratch);
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as RunStatus;
    expect(status.results![0].result).toMatchObject({ outcome: 'success', result: { doubled: 42, greeting: 'hi' } });
  }, SLOW);

  it("runs the README's embedding snippet", async () => {
    writeFileSync(join(scratch, 'embed-check.mjs'), `${snippets.get('embed.mjs')}\nconsole.log('FINAL', JSON.stringify(final));\n`);
    const r = await run(process.execPath, ['embed-check.mjs'], scratch);
    expect(r.code, r.stderr).toBe(0);
    const final = JSON.parse(r.stdout.split('FINAL ')[1]) as RunStatus;
    expect(final.status).toBe('success');
    expect(final.results!.map((x) => (x.result as { result: { doubled: number } }).result.doubled)).toEqual([2, 4]);
    expect(r.stdout).toMatch(/^step_completed 0 double 1$/m);
  }, SLOW);

  it("runs the README's client snippet against npx weft serve", async () => {
    const server = spawn('npx', ['weft', 'serve', '--port', '0'], { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((res, rej) => {
        let out = '';
        server.stdout.on('data', (d: Buffer) => { out += d.toString(); const m = /listening on (\S+)/.exec(out); if (m) res(m[1]); });
        server.on('close', (code) => rej(new Error(`weft serve exited ${code}`)));
      });
      writeFileSync(join(scratch, 'client-check.mjs'), `${snippets.get('client.mjs')}\nconsole.log('FINAL', JSON.stringify(done));\n`);
      const r = await run(process.execPath, ['client-check.mjs'], scratch, { WEFT_URL: url });
      expect(r.code, r.stderr).toBe(0);
      const done = JSON.parse(r.stdout.split('FINAL ')[1]) as RunStatus;
      expect(done).toMatchObject({ status: 'success', items: { total: 2, success: 2 } });
    } finally {
      server.kill('SIGTERM');
    }
  }, SLOW);

  it('runs the Quick start example with npx weft run', async () => {
    cpSync(join(ROOT, 'examples'), join(scratch, 'examples'), { recursive: true });
    const [args] = weftCommands(snippets.get('quick-start.sh')!);
    const r = await run('npx', args, scratch);
    expect(r.code, r.stderr).toBe(1); // two items are invalid on purpose
    expect((JSON.parse(r.stdout) as RunStatus).items).toMatchObject({ total: 20, success: 18, failed: 2 });
  }, SLOW);
});

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../protocol/index.js';
import { resolveCommand, spawnServer, substituteVars } from '../../../runtime/plugins/spawn-server.js';
import { isProcessAlive as isPidAlive } from '../../../runtime/store/run-ownership.js';

describe('substituteVars', () => {
  const env = { A: 'a', EMPTY: '' };
  it('supports $VAR, ${VAR}, ${VAR:default}, ${VAR:-default} and $$', () => {
    expect(substituteVars('$A-${A}', env, 'here')).toBe('a-a');
    expect(substituteVars('${NOPE:x}|${EMPTY:x}', env, 'here')).toBe('x|');
    expect(substituteVars('${NOPE:-y}|${EMPTY:-y}|${A:-y}', env, 'here')).toBe('y|y|a');
    expect(substituteVars('cost: $$5', env, 'here')).toBe('cost: $5');
  });
  it('names the place and the variable when one is unset without a default', () => {
    expect(() => substituteVars('${MISSING}', env, 'plugin "p": env.X')).toThrow('plugin "p": env.X: environment variable "MISSING" is not set and has no default');
  });
});

describe('resolveCommand', () => {
  it('looks a bare name up on PATH and a path relative to the working directory', () => {
    expect(resolveCommand('node', '/', process.env.PATH, 'p')).toMatch(/\/node$/);
    expect(() => resolveCommand('./nope.sh', '/tmp', process.env.PATH, 'p')).toThrow('plugin "p": command "./nope.sh" not found or not executable (looked at /tmp/nope.sh)');
    expect(() => resolveCommand('weft-no-such-command', '/', process.env.PATH, 'p')).toThrow('plugin "p": command "weft-no-such-command" not found on PATH');
  });
});

describe('spawnServer', () => {
  it('keeps the last 100 stderr lines, logs them only when WEFT_COMPONENT_STDERR=verbose, and stops the child', async () => {
    const script = 'for (let i = 0; i < 120; i++) console.error("line " + i); process.stdin.resume(); process.stdin.on("end", () => process.exit(0));';
    const logged: string[] = [];
    process.env.WEFT_COMPONENT_STDERR = 'verbose';
    try {
      const server = await spawnServer({ pluginName: 'loud', command: process.execPath, args: ['-e', script], cwd: packageRoot(), log: (l) => logged.push(l) });
      for (let i = 0; i < 100 && server.stderrTail().length < 100; i++) await new Promise((r) => setTimeout(r, 20));
      expect(server.stderrTail()).toHaveLength(100);
      expect(server.stderrTail()[0]).toBe('line 20');
      await server.stop();
      expect(await server.exited).toEqual({ exitCode: 0 });
      expect(isPidAlive(server.pid)).toBe(false);
      expect(logged[0]).toBe('[loud] line 0');
    } finally {
      delete process.env.WEFT_COMPONENT_STDERR;
    }
  });

  it('stays quiet by default', async () => {
    const logged: string[] = [];
    const server = await spawnServer({ pluginName: 'quiet', command: process.execPath, args: [join(packageRoot(), 'test', 'fixtures', 'servers', 'raw-server.mjs')], cwd: packageRoot(), log: (l) => logged.push(l) });
    server.stdin.write('{"jsonrpc":"2.0","id":1,"method":"components/execute","params":{"component":"/stderr_spam","input":{"lines":3},"attempt":1,"observability":{}}}\n');
    for (let i = 0; i < 100 && server.stderrTail().length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(server.stderrTail()).toEqual(['spam line 0', 'spam line 1', 'spam line 2']);
    expect(logged).toEqual([]);
    await server.stop();
  });
});

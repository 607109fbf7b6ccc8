import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { runWeft } from '../helpers/weft-process.js';

// Stepflow's config as a Stepflow project has it: an MCP plugin and an HTTP component
// server beside the builtins. weft runs neither, but the config loads and the rest runs.
const CONFIG = `plugins:
  builtin: {type: builtin}
  filesystem:
    type: mcp
    command: npx
    args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
  remote:
    type: stepflow
    transport: http
    url: http://localhost:8080
routes:
  "/builtin/{component}": [{plugin: builtin}]
  "/filesystem/{*component}": [{plugin: filesystem}]
  "/remote/{component}": [{plugin: remote}]
`;
const flow = (name: string, component: string) => `schema: https://stepflow.org/schemas/v1/flow.json
name: ${name}
steps:
  - id: s
    component: ${component}
    input: {user_prompt: {$input: prompt}}
output: {$step: s}
`;

describe('a config naming plugins weft does not support (mcp, transport: http)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-unavailable-'));
    writeFileSync(join(dir, 'stepflow-config.yml'), CONFIG);
    writeFileSync(join(dir, 'local.yaml'), flow('local', '/builtin/create_messages'));
    writeFileSync(join(dir, 'mcp.yaml'), flow('mcp', '/filesystem/read_file'));
    writeFileSync(join(dir, 'http.yaml'), flow('http', '/remote/echo'));
  });
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

  it('loads, runs the flows that do not need them, and reports each unavailable plugin once, saying why', async () => {
    const r = await runWeft(['run', 'local.yaml', '--input', '{"prompt":"hi"}', '--store', 'memory'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as RunStatus).results![0].result).toMatchObject({ outcome: 'success' });
    const logged = r.stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { plugin?: string; msg: string });
    const mcp = logged.filter((l) => l.plugin === 'filesystem').map((l) => l.msg);
    const http = logged.filter((l) => l.plugin === 'remote').map((l) => l.msg);
    expect(mcp).toHaveLength(1);
    expect(mcp[0]).toMatch(/plugin "filesystem" is unavailable: weft does not support plugin type "mcp"/);
    expect(http).toHaveLength(1);
    expect(http[0]).toMatch(/plugin "remote" is unavailable: weft does not support transport "http"/);
  });

  it('fails a step routed to one with COMPONENT_NOT_FOUND naming the plugin', async () => {
    for (const [file, plugin, why] of [['mcp.yaml', 'filesystem', 'plugin type "mcp"'], ['http.yaml', 'remote', 'transport "http"']]) {
      const r = await runWeft(['run', file, '--input', '{"prompt":"hi"}', '--store', 'memory'], dir);
      const status = JSON.parse(r.stdout) as RunStatus;
      expect(status.status).toBe('failed');
      const error = (status.results![0].result as { error: { kind: string; code: number; message: string } }).error;
      expect(error).toMatchObject({ kind: 'COMPONENT_NOT_FOUND', code: 500 });
      expect(error.message).toContain(`plugin "${plugin}" is unavailable`);
      expect(error.message).toContain(why);
    }
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeOneServerWorkspace } from '../helpers/one-server-workspace.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startWeft, until } from '../helpers/weft-process.js';

// After `weft` was SIGKILLed, a component server that ignores end-of-input and SIGTERM kept
// running for ever. The server here traps every signal it can and has a grandchild that
// does the same; whatever ends weft, both must go.

/** Running = exists and is not a zombie waiting for init to reap it. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function workspace(): { dir: string; pidFile: string } {
  const dir = tempDir();
  const pidFile = join(dir, 'pids');
  writeOneServerWorkspace(dir, { name: 'undying', server: 'undying-server.mjs', component: 'hang', env: { UNDYING_PIDS: pidFile } });
  return { dir, pidFile };
}

describe('no component server outlives weft', () => {
  for (const signal of ['SIGKILL', 'SIGTERM', 'SIGHUP'] as const) {
    it(`when weft is ended by ${signal}, the server and its grandchild die too`, async () => {
      const { dir, pidFile } = workspace();
      const weft = startWeft(['run', 'flow.yaml', '--input', '{}', '--store', 'memory'], dir);
      await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').includes(' '), 20_000, `the server's pids (${weft.stderr()})`);
      const pids = readFileSync(pidFile, 'utf8').split(' ').map(Number);
      expect(pids.every(running)).toBe(true);
      weft.child.kill(signal);
      await weft.exited;
      try {
        await until(() => !pids.some(running), 10_000, 'the server and its grandchild gone');
      } finally {
        for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      }
    });
  }
});

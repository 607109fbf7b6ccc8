import { createServer } from 'node:net';
import { startWeft, type WeftProcess } from './weft-process.js';

export interface WeftServer {
  /** The base URL the server printed. */
  url: string;
  proc: WeftProcess;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code or signal name. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts `node bin/weft.js serve ...args` in `dir` and waits for the URL it prints. */
export async function startWeftServer(dir: string, args: string[] = [], env: Record<string, string> = {}): Promise<WeftServer> {
  const proc = startWeft(['serve', '--port', '0', ...args], dir, env);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`weft serve printed no URL in 20 s:\n${proc.stdout()}\n${proc.stderr()}`)), 20_000);
    const check = () => {
      const m = /listening on (http:\/\/[^\s"]+)/.exec(proc.stdout());
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    proc.child.stdout!.on('data', check);
    void proc.exited.then((code) => { clearTimeout(timer); reject(new Error(`weft serve exited (${code}) before listening:\n${proc.stderr()}`)); });
  });
  return {
    url,
    proc,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill(signal);
      return proc.exited;
    },
  };
}

/** A port that was free a moment ago (for restarting a server on the same address). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

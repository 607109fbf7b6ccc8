import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { WeftConfig } from '../../runtime/api/config-types.js';
import { SERVERS_DIR } from './runtime-fixture.js';

/**
 * Stepflow's Python SDK, outside the project: $STEPFLOW_PY, else shared/peers/stepflow-py
 * beside the clone (CI, /work/main) or beside its worktrees' folder.
 */
export const STEPFLOW_PY = [
  process.env.STEPFLOW_PY,
  resolve(import.meta.dirname, '../../../shared/peers/stepflow-py'),
  resolve(import.meta.dirname, '../../../../shared/peers/stepflow-py'),
].find((p): p is string => !!p && existsSync(p)) ?? resolve(import.meta.dirname, '../../../shared/peers/stepflow-py');

let found: { python: string } | { skip: string } | undefined;

/**
 * A Python with the SDK's dependencies (the SDK's own setup-python.sh, ~10 s the first
 * time, then cached). Locally a missing SDK or Python is a skip with its reason; under
 * CI=true it is an error: those tests must run there.
 */
export function stepflowPython(): { python: string } | { skip: string } {
  if (found) return found;
  const setup = resolve(STEPFLOW_PY, 'setup-python.sh');
  if (!existsSync(setup)) found = { skip: `Stepflow's Python SDK is not at ${STEPFLOW_PY}` };
  else {
    try {
      found = { python: execFileSync('bash', [setup], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).trim() };
    } catch (error) {
      found = { skip: `setup-python.sh failed: ${String((error as { stderr?: string }).stderr ?? error).trim()}` };
    }
  }
  if ('skip' in found && process.env.CI === 'true') throw new Error(`CI=true: ${found.skip}`);
  return found;
}

/** A config routing `/py/{component}` to a server in test/fixtures/servers (stepflow_sdk_server.py) on the real SDK. */
export function stepflowSdkConfig(python: string, extraEnv: Record<string, string> = {}, script = 'stepflow_sdk_server.py'): WeftConfig {
  return {
    workingDirectory: SERVERS_DIR,
    plugins: {
      builtin: { type: 'builtin' },
      py: {
        type: 'stepflow', transport: 'stdio', command: python, args: [script],
        env: { PYTHONPATH: `${STEPFLOW_PY}/src:${STEPFLOW_PY}/otel-shim`, ...extraEnv },
      },
    },
    routes: { '/builtin/{*component}': [{ plugin: 'builtin' }], '/py/{component}': [{ plugin: 'py' }] },
  };
}

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PromSample { name: string; labels: Record<string, string>; value: number }
export interface PromFamily { name: string; type: string; samples: PromSample[] }

const CACHE = join(tmpdir(), 'weft-prometheus-client');
let wheel: { path: string } | { skip: string } | undefined;

/**
 * The Prometheus project's own text-format parser (prometheus_client, a pure-Python
 * wheel imported straight from the .whl), fetched once with pip from the package index
 * pip is configured with. Locally a missing pip or index is a skip; under CI=true an error.
 */
export function prometheusParser(): { path: string } | { skip: string } {
  if (wheel) return wheel;
  const find = () => (existsSync(CACHE) ? readdirSync(CACHE).find((f) => /^prometheus_client-.*\.whl$/.test(f)) : undefined);
  try {
    if (!find()) {
      mkdirSync(CACHE, { recursive: true });
      execFileSync('python3', ['-m', 'pip', 'download', '-q', '--no-deps', '--only-binary=:all:', '-d', CACHE, 'prometheus_client'], {
        stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000, env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_DEFAULT_TIMEOUT: '15' },
      });
    }
    const found = find();
    wheel = found ? { path: join(CACHE, found) } : { skip: 'pip download prometheus_client left no wheel' };
  } catch (error) {
    wheel = { skip: `cannot fetch prometheus_client with pip: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}` };
  }
  if ('skip' in wheel && process.env.CI === 'true') throw new Error(`CI=true: ${wheel.skip}`);
  return wheel;
}

const SCRIPT = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = [{"name": f.name, "type": f.type, "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
       for f in text_string_to_metric_families(sys.stdin.read())]
print(json.dumps(out))
`;

/** Parses a Prometheus text exposition with prometheus_client; throws (with the parser's message) if it is not valid. */
export function parsePrometheus(wheelPath: string, text: string): PromFamily[] {
  const out = execFileSync('python3', ['-c', SCRIPT], { input: text, encoding: 'utf8', env: { ...process.env, PYTHONPATH: wheelPath } });
  return JSON.parse(out) as PromFamily[];
}

import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/weft-server.js';
import { runWeft } from '../helpers/weft-process.js';

const FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: stash
steps:
  - {id: p, component: /builtin/put_blob, input: {data: {$input: $}, blob_type: data}}
output: {$step: p}
`;

interface OtlpSpan { name: string; traceId: string; spanId: string; parentSpanId?: string; attributes: Array<{ key: string; value: Record<string, unknown> }> }

// `weft run` with the standard OTEL_* variables, as a user runs it: its spans reach an
// OTLP/HTTP receiver before it exits, and a collector that is down fails nothing.
describe('weft run exporting spans over OTLP/HTTP', () => {
  let dir: string;
  let receiver: Server;
  let endpoint: string;
  const bodies: unknown[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-otlp-'));
    writeFileSync(join(dir, 'stash.yaml'), FLOW);
    // A stand-in collector: it records what the OTLP/HTTP JSON exporter posts.
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => {
        if (req.url === '/v1/traces') bodies.push(JSON.parse(body));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
    endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((ok) => receiver?.close(ok));
    rmSync(dir, { recursive: true, force: true });
  });

  const spansOf = (): OtlpSpan[] => (bodies as Array<{ resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> }>)
    .flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
  const attr = (s: OtlpSpan, key: string) => Object.values(s.attributes.find((a) => a.key === key)?.value ?? {})[0];

  it('exports the run, its items and step attempts before it exits', async () => {
    writeFileSync(join(dir, 'in.json'), JSON.stringify([{ a: 1 }, { a: 2 }]));
    const { code, stdout } = await runWeft(['run', 'stash.yaml', '--input-file', 'in.json', '--store', 'memory'], dir,
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'weft-e2e' });
    expect(code).toBe(0);
    const runId = (JSON.parse(stdout) as { runId: string }).runId;
    const spans = spansOf();
    const run = spans.find((s) => s.name === 'run stash')!;
    expect(run.traceId).toBe(runId.replace(/-/g, ''));
    expect(attr(run, 'weft.run.id')).toBe(runId);
    const items = spans.filter((s) => s.name.startsWith('item ') && s.parentSpanId === run.spanId);
    expect(items).toHaveLength(2);
    const steps = spans.filter((s) => s.name === 'step p');
    expect(steps.map((s) => s.parentSpanId).sort()).toEqual(items.map((s) => s.spanId).sort());
    expect(JSON.stringify(bodies)).toContain('weft-e2e');
  });

  it('finishes the run, and says so once, when the collector is down', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    writeFileSync(join(dir, 'in.json'), JSON.stringify([{ a: 3 }]));
    const { code, stdout, stderr } = await runWeft(['run', 'stash.yaml', '--input-file', 'in.json', '--store', 'memory'], dir,
      { OTEL_EXPORTER_OTLP_ENDPOINT: closed });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'success' });
    expect(stderr.match(/trace export (failed|did not finish)/g)).toHaveLength(1);
  });
});

import { describe, expect, it } from 'vitest';
import { Runtime } from '../../../runtime/api/runtime.js';
import type { RunEvent } from '../../../runtime/api/index.js';
import { typecheckAsUser } from '../../helpers/typecheck.js';

// The embedding API's types as a user's project sees them (the built declarations):
// RunEvent narrows on `type`; Runtime's internals are not part of it (issue #18 §1).

describe('public API types', () => {
  it('RunEvent is a union discriminated on type; store, router and runs are not on Runtime', () => {
    const errors = typecheckAsUser(`
import { Runtime, type RunEvent, type RunEventOf } from 'weft';
const rt = await Runtime.open({ store: 'memory' });
rt.on('progress', (e) => {
  if (e.type === 'step_failed') { const m: string = e.data.error.message; const d: number = e.data.durationMs; void m; void d; }
  if (e.type === 'item_completed' && e.data.outcome === 'failed') { const k: string = e.data.error.kind; void k; }
  if (e.type === 'step_output') { const s: string = e.data.stream; const i: number = e.data.index + e.attempt; void s; void i; }
  if (e.type === 'run_created') { const t: number = e.data.total; void t; }
});
const first = (e: RunEvent) => e.type === 'run_completed' ? e.data.status : undefined;
const created: RunEventOf<'run_created'> | undefined = undefined;
void first; void created;
rt.on('progress', (e) => { if (e.type === 'run_created') void e.data.error; });
void rt.store;
void rt.router;
void rt.runs;
void rt.config.plugins;
`);
    expect(errors).toHaveLength(4);
    expect(errors[0]).toMatch(/^line 13: Property 'error' does not exist on type 'RunCreatedData'/);
    expect(errors[1]).toMatch(/^line 14: Property 'store' does not exist on type 'Runtime'/);
    expect(errors[2]).toMatch(/^line 15: Property 'router' does not exist on type 'Runtime'/);
    expect(errors[3]).toMatch(/^line 16: Property 'runs' does not exist on type 'Runtime'/);
  });

  it('the events a real run writes have the fields their union member declares', async () => {
    const rt = await Runtime.open({ store: 'memory', resume: false, config: { workingDirectory: process.cwd(), plugins: { builtin: { type: 'builtin' } }, routes: { '/builtin/{*component}': [{ plugin: 'builtin' }] } } });
    try {
      const flowId = await rt.putFlow({
        schema: 'https://stepflow.org/schemas/v1/flow.json', name: 'two',
        schemas: { type: 'object', properties: { input: { type: 'object', required: ['p'] } } },
        steps: [{ id: 'm', component: '/builtin/create_messages', input: { user_prompt: { $input: 'p' } } }],
        output: { $step: 'm' },
      } as never);
      const run = await rt.submit(flowId, [{ p: 'a' }, {}]);
      const events: RunEvent[] = [];
      for await (const e of run.events()) events.push(e);
      const types = new Set(events.map((e) => e.type));
      expect([...types].sort()).toEqual(['item_completed', 'item_started', 'run_completed', 'run_created', 'run_status', 'step_completed', 'step_started']);
      for (const e of events) {
        expect(e).toMatchObject({ seq: expect.any(Number), runId: run.id, at: expect.any(String) });
        switch (e.type) {
          case 'run_created': expect(e.data).toEqual({ flowId, total: 2 }); break;
          case 'run_status': expect(e.data).toEqual({ status: 'running' }); break;
          case 'item_started': expect(e.itemIndex).toEqual(expect.any(Number)); break;
          case 'item_completed':
            if (e.data.outcome === 'failed') expect(e.data.error).toMatchObject({ kind: 'INVALID_INPUT', message: expect.any(String) });
            else expect(e.data).toEqual({ outcome: 'success' });
            break;
          case 'step_started': expect(e).toMatchObject({ itemIndex: 0, stepId: 'm', attempt: 1 }); break;
          case 'step_completed': expect(e).toMatchObject({ itemIndex: 0, stepId: 'm', attempt: 1, data: { durationMs: expect.any(Number) } }); break;
          case 'run_completed': expect(e.data).toEqual({ status: 'failed' }); break;
          default: throw new Error(`unexpected ${e.type}`);
        }
      }
    } finally {
      await rt.close();
    }
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { compileUserSchema } from '../../protocol/index.js';
import { Runtime } from '../../runtime/api/runtime.js';

// `format` keywords are checked (ajv-formats is loaded): before, ajv printed
// `unknown format "email" ignored` and accepted any string.

describe('schema format keywords', () => {
  afterEach(() => vi.restoreAllMocks());

  it('email, date, date-time, uri and uuid reject bad values and accept good ones, without a warning', () => {
    const warn = vi.spyOn(console, 'warn');
    const cases: [string, unknown, unknown][] = [
      ['email', 'ada@example.com', 'not-an-email'],
      ['date', '2026-12-01', '2026-13-45'],
      ['date-time', '2026-12-01T23:30:00Z', 'yesterday'],
      ['uri', 'https://example.com/a?b=c', 'no scheme here'],
      ['uuid', '01a233ee-cff9-7548-9361-01b07e411584', 'xyz'],
    ];
    for (const [format, good, bad] of cases) {
      const validate = compileUserSchema({ type: 'string', format });
      expect(validate(good), `${format}: ${String(good)}`).toBe(true);
      expect(validate(bad), `${format}: ${String(bad)}`).toBe(false);
      expect(validate.errors?.[0]).toMatchObject({ keyword: 'format', params: { format } });
    }
    expect(warn).not.toHaveBeenCalled();
  });

  it("a flow's input schema with format: email fails the item whose input is not an email", async () => {
    const rt = await Runtime.open({ store: 'memory', resume: false, config: { workingDirectory: process.cwd(), plugins: { builtin: { type: 'builtin' } }, routes: { '/builtin/{*component}': [{ plugin: 'builtin' }] } } });
    try {
      const flowId = await rt.putFlow({
        schema: 'https://stepflow.org/schemas/v1/flow.json',
        name: 'mail',
        schemas: { type: 'object', properties: { input: { type: 'object', required: ['to'], properties: { to: { type: 'string', format: 'email' } } } } },
        steps: [{ id: 'm', component: '/builtin/create_messages', input: { user_prompt: { $input: 'to' } } }],
        output: { $step: 'm', path: '$.messages[0].content' },
      } as never);
      const status = await rt.run(flowId, [{ to: 'ada@example.com' }, { to: 'ada at example' }]);
      expect(status.results![0].result).toMatchObject({ outcome: 'success', value: 'ada@example.com' });
      expect(status.results![1].result).toMatchObject({ outcome: 'failed', error: { kind: 'INVALID_INPUT', message: expect.stringMatching(/format/) } });
    } finally {
      await rt.close();
    }
  });
});

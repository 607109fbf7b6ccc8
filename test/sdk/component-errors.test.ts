import { afterEach, describe, expect, it } from 'vitest';
import { ResponseError } from 'vscode-jsonrpc/node';
import { ComponentErrorCodes, ComponentsExecute } from '../../protocol/index.js';
import { spawnSdkServer } from '../helpers/spawn-sdk-server.js';
import type { SpawnedServer } from '../helpers/spawn-sdk-server.js';

const servers: SpawnedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function executeError(fixture: string, component: string, input: unknown): Promise<ResponseError<any>> {
  const server = spawnSdkServer(fixture);
  servers.push(server);
  const error = await server.connection
    .sendRequest(ComponentsExecute, { component, input, attempt: 1, observability: {} })
    .then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ResponseError);
  return error as ResponseError<any>;
}

describe('SDK component errors', () => {
  it('rejects input that fails inputSchema with -32002 and the ajv path', async () => {
    const error = await executeError('sdk-echo-server.mjs', '/double', { x: 'seven' });
    expect(error.code).toBe(ComponentErrorCodes.InputValidationFailed);
    expect(error.code).toBe(-32002);
    expect(error.message).toBe("Input validation failed for '/double': input.x: must be number (type)");
    expect(error.data).toEqual({ component: '/double', issues: [{ path: 'input.x', rule: 'type', message: 'must be number' }] });
  });

  it('names a missing required property in the path', async () => {
    const error = await executeError('sdk-echo-server.mjs', '/double', {});
    expect(error.code).toBe(-32002);
    expect(error.message).toContain('input.x');
    expect(error.data.issues[0]).toMatchObject({ path: 'input.x', rule: 'required' });
  });

  it('turns a thrown Error into -32003 "Component execution failed: <message>" with the stack', async () => {
    const error = await executeError('sdk-failing-server.mjs', '/throws', { reason: 'disk full' });
    expect(error.code).toBe(ComponentErrorCodes.ExecutionFailed);
    expect(error.message).toBe('Component execution failed: boom: disk full');
    expect(error.data.message).toBe('boom: disk full');
    expect(error.data.stack).toContain('sdk-failing-server.mjs');
  });

  it('turns a thrown non-Error into -32003 with its text', async () => {
    const error = await executeError('sdk-failing-server.mjs', '/throws_string', null);
    expect(error.code).toBe(-32003);
    expect(error.message).toBe('Component execution failed: a bare string');
  });

  it('fails an output that does not match outputSchema with -32003 and the path', async () => {
    const error = await executeError('sdk-failing-server.mjs', '/bad_output', null);
    expect(error.code).toBe(-32003);
    expect(error.message).toContain("output of '/bad_output' does not match its outputSchema");
    expect(error.message).toContain('output.y: must be number');
    expect(error.data.issues[0]).toMatchObject({ path: 'output.y', rule: 'type' });
  });

  it('sends a ComponentError with the code and data its author chose', async () => {
    const error = await executeError('sdk-failing-server.mjs', '/custom_error', null);
    expect(error.code).toBe(-32005);
    expect(error.message).toBe('upstream is down');
    expect(error.data).toEqual({ retryAfter: 5 });
  });
});

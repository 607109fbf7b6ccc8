import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOW_SCHEMA, configWithServers, openTestRuntime } from '../helpers/runtime-fixture.js';

// Binary blobs cross JSON-RPC as base64: the SDK encodes on put and decodes on get, the
// runtime decodes into bytes for the store and encodes again on the way out.
describe('binary blobs from a component server', () => {
  let fx: Awaited<ReturnType<typeof openTestRuntime>>;
  beforeAll(async () => { fx = await openTestRuntime(configWithServers({ cb: 'sdk-callback-server.mjs' })); });
  afterAll(async () => { await fx?.close(); });

  it('round-trips bytes through blobs/put and blobs/get and stores them as bytes', async () => {
    const bytes = [0, 1, 2, 127, 128, 254, 255, 10, 13];
    const flowId = await fx.rt.putFlow({
      schema: FLOW_SCHEMA, name: 'bytes',
      steps: [{ id: 'rt', component: '/cb/binary_round_trip', input: { bytes: { $input: 'bytes' } } }],
      output: { $step: 'rt' },
    });
    const status = await fx.rt.run(flowId, [{ bytes }]);
    const value = (status.results![0].result as { value: { blobId: string; isBytes: boolean; bytes: number[] } }).value;
    expect(value.isBytes).toBe(true);
    expect(value.bytes).toEqual(bytes);
    // The id is the SHA-256 of the raw bytes, and the store holds bytes, not a base64 string.
    expect(value.blobId).toBe(`sha256:${createHash('sha256').update(Buffer.from(bytes)).digest('hex')}`);
    const stored = (await fx.rt.store.blobs.getBlob(value.blobId))!;
    expect(stored.type).toBe('binary');
    expect([...(stored.data as Uint8Array)]).toEqual(bytes);
  });
});

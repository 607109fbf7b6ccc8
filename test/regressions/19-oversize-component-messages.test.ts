import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeOneServerWorkspace } from '../helpers/one-server-workspace.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runWeft } from '../helpers/weft-process.js';

// A component output nested thousands of levels deep crashed what handled it next ("Maximum
// call stack size exceeded"), and a callback line over the frame limit (a 100 MB blobs/put)
// was dropped silently: the component waited for ever. Now each is refused where it is read,
// the call gets an error naming the limit, and the other items of the run go on.
describe('component messages over limits.maxMessageBytes or limits.maxJsonDepth', () => {
  it('fail that step (an output) or get an error answer (a callback), naming the limit', async () => {
    const dir = tempDir();
    writeOneServerWorkspace(dir, { name: 'shapes', server: 'oversize-server.mjs', component: 'shape', limits: '{maxMessageBytes: 1048576, maxJsonDepth: 64}' });
    const inputs = [
      { kind: 'ok' }, { kind: 'deep', size: 5000 }, { kind: 'huge', size: 3_000_000 },
      { kind: 'put-deep', size: 200_000 }, { kind: 'put-huge', size: 3_000_000 }, { kind: 'deep', size: 60 }, { kind: 'ok' },
    ];
    writeFileSync(join(dir, 'inputs.json'), JSON.stringify(inputs));
    const res = await runWeft(['run', 'flow.yaml', '--input-file', 'inputs.json', '--store', 'memory'], dir, { WEFT_COMPONENT_STDERR: 'quiet' });
    expect(res.stderr).not.toMatch(/Maximum call stack|\n\s+at /);
    const status = JSON.parse(res.stdout);
    expect(status.items).toMatchObject({ total: 7, success: 5, failed: 2 });
    const results = status.results.map((r: { result: unknown }) => r.result);
    expect(results[0]).toMatchObject({ outcome: 'success', value: { ok: true } });
    expect(results[1]).toMatchObject({ outcome: 'failed', error: { message: expect.stringMatching(/the response nests deeper than 64 levels \(limits\.maxJsonDepth\)/) } });
    expect(results[2]).toMatchObject({ outcome: 'failed', error: { message: expect.stringMatching(/the response is \d+ bytes, over limits\.maxMessageBytes \(1048576\)/) } });
    expect(results[3]).toMatchObject({ outcome: 'success', value: { answered: { code: -32016, message: 'blobs/put: the request nests deeper than 64 levels (limits.maxJsonDepth)' } } });
    expect(results[4]).toMatchObject({ outcome: 'success', value: { answered: { code: -32016, message: expect.stringMatching(/^blobs\/put: the request is \d+ bytes, over limits\.maxMessageBytes \(1048576\)$/) } } });
    expect(results[5]).toMatchObject({ outcome: 'success' }); // within the limit
    expect(results[6]).toMatchObject({ outcome: 'success', value: { ok: true } });
  });
});

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../protocol/index.js';
import { StdioPlugin } from '../../runtime/plugins/stdio-plugin.js';
import { MapRuntimeContext } from '../helpers/map-runtime-context.js';

// A server that died during the handshake was reported as "Pending response rejected since
// connection got disposed (code -32097)": the user learned nothing. The error now names the
// exit and quotes the server's last stderr lines, which usually say why.
describe('a component server that dies during the handshake', () => {
  let plugin: StdioPlugin | undefined;
  afterEach(async () => { await plugin?.close(); });

  it('fails init with the exit code and its last stderr lines', async () => {
    const servers = join(packageRoot(), 'test', 'fixtures', 'servers');
    plugin = new StdioPlugin({ name: 'llm', command: process.execPath, args: [join(servers, 'dies-at-handshake-server.mjs')], workingDirectory: servers, log: () => undefined });
    const error = await plugin.init(new MapRuntimeContext()).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/plugin "llm" \(.*\) died during the handshake: .*exited with code 1/);
    expect(error?.message).toContain('boom: OPENAI_API_KEY is not set');
  });
});

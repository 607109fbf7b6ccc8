// Runs the flow in this process and prints the model's words as they stream, before the
// step has finished. `node examples/streaming/stream.mjs "write a haiku"`
import { join } from 'node:path';
import { Runtime } from 'weft';

const here = import.meta.dirname;
const rt = await Runtime.open({ cwd: here, store: 'memory' });   // finds weft.config.yml here
try {
  const flowId = await rt.putFlow(join(here, 'flow.yaml'));
  const run = await rt.submit(flowId, [{ prompt: process.argv[2] ?? 'write a haiku' }]);
  // Persisted chunks first, then live ones; the stream ends when the run does.
  for await (const { chunk } of run.getReadable({ stream: 'tokens' })) process.stdout.write(chunk);
  process.stdout.write('\n');
  const final = await run.wait();
  console.error(`run ${run.id}: ${final.status}, ${final.results[0].result.value.words} words`);
} finally {
  await rt.close();
}

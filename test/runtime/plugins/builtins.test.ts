// The builtins' own logic: input validation, output shapes, ordering, iteration
// termination, subflow keys, error propagation. Blob, sub-run and human-input calls go
// to `FakeRuntime` below, a deliberately small RuntimeContext: its blobs use the real
// `blobIdOf`, and its "flows" are JS functions picked by the flow's `name`. The
// end-to-end versions (real RunManager, real stores, real flows) live in `test/e2e/`.
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, FLOW_SCHEMA_URL, ProtocolError, blobIdOf, normalizeBlobId } from '../../../protocol/index.js';
import type {
  AwaitInputParams, BlobId, BlobType, FlowResult, GetRunParams, RunStatus, SubmitRunParams, WireFlowResult,
} from '../../../protocol/index.js';
import { BuiltinPlugin } from '../../../runtime/plugins/builtins.js';
import type { ExecuteRequest } from '../../../runtime/plugins/plugin.js';
import type { CallerContext, RuntimeContext } from '../../../runtime/plugins/runtime-context.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/builtins');
const WORKDIR = join(FIXTURES, 'workdir');

type FakeFlow = (input: unknown) => FlowResult;

class FakeRuntime implements RuntimeContext {
  readonly blobs = new Map<string, { data: unknown; blobType: BlobType }>();
  readonly submissions: { params: SubmitRunParams; caller?: CallerContext }[] = [];
  readonly awaited: { params: AwaitInputParams; caller?: CallerContext }[] = [];
  /** How many runs/submit calls answer `running` before the run is finished (via runs/get). */
  submitReturnsEarly = 0;
  private readonly finished = new Map<string, RunStatus>();
  private runs = 0;

  constructor(private readonly flows: Record<string, FakeFlow> = {}, private readonly answer: unknown = null) {}

  async putBlob(data: unknown, blobType: BlobType): Promise<BlobId> {
    const id = blobIdOf(data);
    this.blobs.set(id, { data, blobType });
    return id;
  }

  async getBlob(id: string): Promise<{ data: unknown; blobType: BlobType }> {
    const blob = this.blobs.get(normalizeBlobId(id) ?? id);
    if (!blob) throw new ProtocolError(ErrorCodes.BlobNotFound, `blob not found: ${id}`);
    return blob;
  }

  async submitRun(params: SubmitRunParams, caller?: CallerContext): Promise<RunStatus> {
    this.submissions.push({ params, caller });
    const blob = this.blobs.get(params.flowId);
    if (blob?.blobType !== 'flow') throw new ProtocolError(ErrorCodes.NotFound, `flow not found: ${params.flowId}`);
    const flow = this.flows[(blob.data as { name: string }).name];
    const runId = `run-${++this.runs}`;
    const results = params.inputs.map((input, itemIndex) => {
      const r = flow(input);
      const wire: WireFlowResult = r.outcome === 'success' ? { outcome: 'success', value: r.result, result: r.result } : r;
      return { itemIndex, status: r.outcome === 'success' ? 'completed' as const : 'failed' as const, result: wire };
    });
    const failed = results.filter((r) => r.status === 'failed').length;
    const total = results.length;
    const status: RunStatus = {
      runId, flowId: params.flowId, status: failed ? 'failed' : 'success', createdAt: new Date().toISOString(),
      items: { total, pending: 0, running: 0, success: total - failed, completed: total - failed, failed, cancelled: 0 },
      // Completion order, not index order: the builtins must sort.
      results: results.reverse(),
    };
    if (this.submitReturnsEarly > 0) {
      this.finished.set(runId, status);
      return { ...status, status: 'running', results: undefined };
    }
    return status;
  }

  async getRun(params: GetRunParams): Promise<RunStatus> {
    const status = this.finished.get(params.runId);
    if (!status) throw new ProtocolError(ErrorCodes.NotFound, `run not found: ${params.runId}`);
    return --this.submitReturnsEarly > 0 ? { ...status, status: 'running', results: undefined } : status;
  }

  async awaitInput(params: AwaitInputParams, caller?: CallerContext): Promise<unknown> {
    this.awaited.push({ params, caller });
    return this.answer;
  }
}

const CALLER: CallerContext = { runId: 'parent-run', itemIndex: 3, stepId: 'step_a', attempt: 1 };

async function setup(flows: Record<string, FakeFlow> = {}, answer?: unknown) {
  const runtime = new FakeRuntime(flows, answer);
  const plugin = new BuiltinPlugin({ loadFile: { root: WORKDIR } });
  await plugin.init(runtime);
  const exec = (component: string, input: unknown, caller: CallerContext = CALLER) =>
    plugin.execute({ component, input, attempt: 1, observability: {}, caller } satisfies ExecuteRequest);
  return { runtime, plugin, exec };
}

const flowNamed = (name: string) => ({ schema: FLOW_SCHEMA_URL, name, steps: [] });
const ok = (result: unknown): FlowResult => ({ outcome: 'success', result });
const resultOf = (r: FlowResult) => {
  if (r.outcome !== 'success') throw new Error(`expected success, got ${JSON.stringify(r)}`);
  return r.result as any;
};
const errorOf = (r: FlowResult) => {
  if (r.outcome !== 'failed') throw new Error(`expected failure, got ${JSON.stringify(r)}`);
  return r.error;
};

describe('BuiltinPlugin', () => {
  it('lists every builtin with its schemas, and not /openai', async () => {
    const { plugin } = await setup();
    const names = (await plugin.listComponents()).map((c) => c.component).sort();
    expect(names).toEqual(['/await_input', '/create_messages', '/eval', '/get_blob', '/iterate', '/load_file', '/map', '/put_blob']);
    const info = await plugin.componentInfo('/put_blob');
    expect(info?.input_schema).toMatchObject({ required: ['data', 'blob_type'] });
    expect(info?.output_schema).toMatchObject({ required: ['blob_id'] });
    expect(await plugin.componentInfo('/openai')).toBeUndefined();
  });

  it('fails an unknown component with COMPONENT_NOT_FOUND', async () => {
    const { exec } = await setup();
    const error = errorOf(await exec('/openai', { messages: [] }));
    expect(error.kind).toBe('COMPONENT_NOT_FOUND');
    expect(error.message).toContain('/openai');
  });

  it('rejects invalid input with INVALID_INPUT naming the path and rule', async () => {
    const { exec } = await setup();
    const cases: [string, unknown, string][] = [
      ['/put_blob', { data: 1 }, 'blob_type: must have required property'],
      ['/put_blob', { data: 1, blob_type: 'Json' }, 'blob_type: must be equal to one of the allowed values'],
      ['/get_blob', { blob_id: 'abc' }, 'blob_id: must match pattern'],
      ['/create_messages', { user_prompt: 42 }, 'user_prompt: must be string (type)'],
      ['/map', { workflow: flowNamed('x'), items: 'abc' }, 'items: must be array'],
      ['/map', { workflow: flowNamed('x'), items: [1], max_concurrency: 0 }, 'max_concurrency: must be >= 1'],
      ['/iterate', { flow: { steps: [] }, initial_input: 1 }, 'flow.schema: must have required property'],
      ['/load_file', { path: 'a.json', format: 'xml' }, 'format: must be equal to one of the allowed values'],
      ['/await_input', { schema: {} }, 'prompt: must have required property'],
    ];
    for (const [component, input, expected] of cases) {
      const error = errorOf(await exec(component, input));
      expect(error.kind, component).toBe('INVALID_INPUT');
      expect(error.message, component).toContain(`builtin ${component}: invalid input: `);
      expect(error.message, component).toContain(expected);
    }
  });
});

describe('/put_blob and /get_blob', () => {
  it('round-trips a value through its content-addressed id', async () => {
    const { exec } = await setup();
    const data = { message: 'Hello, blobs!', number: 42, nested: { array: [1, 2, 3], boolean: true } };
    const { blob_id } = resultOf(await exec('/put_blob', { data, blob_type: 'data' }));
    expect(blob_id).toBe(blobIdOf(data));
    expect(resultOf(await exec('/get_blob', { blob_id }))).toEqual({ data });
  });

  it('gives the same id to the same value whatever its key order', async () => {
    const { exec } = await setup();
    const a = resultOf(await exec('/put_blob', { data: { x: 1, y: { p: true, q: [1, 2] } }, blob_type: 'data' }));
    const b = resultOf(await exec('/put_blob', { data: { y: { q: [1, 2], p: true }, x: 1 }, blob_type: 'data' }));
    expect(a.blob_id).toBe(b.blob_id);
  });

  it('accepts a bare hex id as well as a sha256: one', async () => {
    const { exec } = await setup();
    const { blob_id } = resultOf(await exec('/put_blob', { data: [1, 2], blob_type: 'data' }));
    const bare = (blob_id as string).slice('sha256:'.length);
    expect(resultOf(await exec('/get_blob', { blob_id: bare }))).toEqual({ data: [1, 2] });
  });

  it('fails an unknown id with COMPONENT_FAILED naming the id', async () => {
    const { exec } = await setup();
    const id = `sha256:${'0'.repeat(64)}`;
    const error = errorOf(await exec('/get_blob', { blob_id: id }));
    expect(error.kind).toBe('COMPONENT_FAILED');
    expect(error.message).toBe(`builtin /get_blob: no blob with id "${id}"`);
  });

  it('stores a flow as a flow blob but refuses a payload that is not a flow', async () => {
    const { exec, runtime } = await setup();
    const { blob_id } = resultOf(await exec('/put_blob', { data: flowNamed('nested'), blob_type: 'flow' }));
    expect(runtime.blobs.get(blob_id)?.blobType).toBe('flow');
    const error = errorOf(await exec('/put_blob', { data: { hello: 'world' }, blob_type: 'flow' }));
    expect(error.kind).toBe('INVALID_INPUT');
    expect(error.message).toContain('data.schema: must have required property');
    expect(error.message).not.toContain('(if)');
  });
});

describe('/create_messages', () => {
  it('puts the system instructions first', async () => {
    const { exec } = await setup();
    expect(resultOf(await exec('/create_messages', { system_instructions: 'Be brief.', user_prompt: 'Hi' }))).toEqual({
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }],
    });
  });

  it('gives only the user message without instructions', async () => {
    const { exec } = await setup();
    expect(resultOf(await exec('/create_messages', { user_prompt: 'Hello from nested flow' }))).toEqual({
      messages: [{ role: 'user', content: 'Hello from nested flow' }],
    });
  });
});

describe('/load_file', () => {
  it('reads JSON, YAML (.yaml and .yml) and text, the format coming from the extension', async () => {
    const { exec } = await setup();
    const json = resultOf(await exec('/load_file', { path: 'customer.json' }));
    expect(json.data).toEqual({ id: 'c-1001', name: 'Ada Lovelace', tags: ['vip', 'eu'] });
    expect(json.metadata).toMatchObject({ resolved_path: join(WORKDIR, 'customer.json'), format: 'json' });
    expect(json.metadata.size_bytes).toBeGreaterThan(0);

    const yaml = resultOf(await exec('/load_file', { path: 'settings.yaml' }));
    // YAML 1.2 core schema: the timestamp stays a string.
    expect(yaml.data).toEqual({ threshold: 0.75, created: '2024-01-01 00:00:00+00:00', regions: ['eu', 'us'] });
    expect(yaml.metadata.format).toBe('yaml');
    expect(resultOf(await exec('/load_file', { path: 'nested/settings.yml' })).data).toEqual({ enabled: true });

    const text = resultOf(await exec('/load_file', { path: './template.txt' }));
    expect(text.data).toBe('Dear {name},\nthank you for your order.\n');
    expect(text.metadata).toMatchObject({ format: 'text', size_bytes: Buffer.byteLength(text.data) });
  });

  it('lets an explicit format override the extension', async () => {
    const { exec } = await setup();
    const r = resultOf(await exec('/load_file', { path: 'notes.txt', format: 'json' }));
    expect(r.data).toEqual({ looks: 'like json' });
    expect(r.metadata.format).toBe('json');
  });

  it('accepts an absolute path inside the working directory', async () => {
    const { exec } = await setup();
    expect(resultOf(await exec('/load_file', { path: join(WORKDIR, 'customer.json') })).data).toMatchObject({ id: 'c-1001' });
  });

  it('fails a missing file naming the path', async () => {
    const { exec } = await setup();
    const error = errorOf(await exec('/load_file', { path: 'nope/missing.json' }));
    expect(error.kind).toBe('COMPONENT_FAILED');
    expect(error.message).toContain('"nope/missing.json": no such file');
  });

  it('fails a file that does not parse in its format', async () => {
    const { exec } = await setup();
    const error = errorOf(await exec('/load_file', { path: 'broken.yaml' }));
    expect(error.message).toContain('"broken.yaml": not valid YAML');
  });

  it('refuses ../ escapes and absolute paths outside the working directory, even when the file exists', async () => {
    const { exec } = await setup();
    for (const path of ['../secret.txt', 'nested/../../secret.txt', join(FIXTURES, 'secret.txt'), '/etc/passwd']) {
      const error = errorOf(await exec('/load_file', { path }));
      expect(error.kind, path).toBe('INVALID_INPUT');
      expect(error.message, path).toContain('is outside the project root');
    }
  });

  describe('through symlinks', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'weft-load-file-'));
      await mkdir(join(dir, 'work/sub'), { recursive: true });
      await writeFile(join(dir, 'outside.json'), '{"secret": true}');
      await writeFile(join(dir, 'work/inside.json'), '{"inside": true}');
      await symlink(join(dir, 'outside.json'), join(dir, 'work/link-out.json'));
      await symlink(join(dir), join(dir, 'work/sub/up'));
      await symlink(join(dir, 'work/inside.json'), join(dir, 'work/link-in.json'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('refuses a symlink (to a file or through a directory) that leads outside', async () => {
      const plugin = new BuiltinPlugin({ loadFile: { root: join(dir, 'work') } });
      await plugin.init(new FakeRuntime());
      for (const path of ['link-out.json', 'sub/up/outside.json']) {
        const error = errorOf(await plugin.execute({ component: '/load_file', input: { path }, attempt: 1, observability: {}, caller: CALLER }));
        expect(error.kind, path).toBe('INVALID_INPUT');
        expect(error.message, path).toContain('resolves through a symlink');
      }
    });

    it('follows a symlink that stays inside', async () => {
      const plugin = new BuiltinPlugin({ loadFile: { root: join(dir, 'work') } });
      await plugin.init(new FakeRuntime());
      const r = await plugin.execute({ component: '/load_file', input: { path: 'link-in.json' }, attempt: 1, observability: {}, caller: CALLER });
      expect(resultOf(r).data).toEqual({ inside: true });
    });
  });
});

describe('/eval', () => {
  const flows: Record<string, FakeFlow> = {
    double: (x) => ok({ doubled: (x as { n: number }).n * 2 }),
    broken: () => ({ outcome: 'failed', error: { code: 500, kind: 'COMPONENT_FAILED', message: 'step "s" failed' } }),
  };

  it('runs a stored flow on one input and returns its FlowResult in Stepflow\'s shape with the nested run id', async () => {
    const { exec, runtime } = await setup(flows);
    const flowId = await runtime.putBlob(flowNamed('double'), 'flow');
    const out = resultOf(await exec('/eval', { flow_id: flowId, input: { n: 21 } }));
    expect(out).toEqual({ result: { outcome: 'success', result: { doubled: 42 } }, run_id: 'run-1' });
    expect(runtime.submissions[0].params).toMatchObject({ flowId, inputs: [{ n: 21 }], wait: true });
    expect(runtime.submissions[0].caller).toBe(CALLER);
  });

  it('stores a literal flow as a flow blob first', async () => {
    const { exec, runtime } = await setup(flows);
    const out = resultOf(await exec('/eval', { flow: flowNamed('double'), input: { n: 1 } }));
    expect(out.result).toEqual({ outcome: 'success', result: { doubled: 2 } });
    const flowId = runtime.submissions[0].params.flowId;
    expect(runtime.blobs.get(flowId)).toEqual({ data: flowNamed('double'), blobType: 'flow' });
  });

  it('accepts a bare hex flow id', async () => {
    const { exec, runtime } = await setup(flows);
    const flowId = await runtime.putBlob(flowNamed('double'), 'flow');
    resultOf(await exec('/eval', { flow_id: flowId.slice('sha256:'.length), input: { n: 1 } }));
    expect(runtime.submissions[0].params.flowId).toBe(flowId);
  });

  it('succeeds when the nested flow fails, with the failure inside result', async () => {
    const { exec } = await setup(flows);
    const out = resultOf(await exec('/eval', { flow: flowNamed('broken'), input: {} }));
    expect(out.result).toEqual({ outcome: 'failed', error: { code: 500, kind: 'COMPONENT_FAILED', message: 'step "s" failed' } });
  });

  it('needs exactly one of flow_id and flow', async () => {
    const { exec, runtime } = await setup(flows);
    const flowId = await runtime.putBlob(flowNamed('double'), 'flow');
    for (const input of [{ input: 1 }, { flow_id: flowId, flow: flowNamed('double'), input: 1 }]) {
      const error = errorOf(await exec('/eval', input));
      expect(error.kind).toBe('INVALID_INPUT');
      expect(error.message).toContain('exactly one of flow_id');
    }
  });

  it('fails the step with INVALID_INPUT when the runtime knows no such flow', async () => {
    const { exec } = await setup(flows);
    const error = errorOf(await exec('/eval', { flow_id: 'a'.repeat(64), input: 1 }));
    expect(error.kind).toBe('INVALID_INPUT');
    expect(error.message).toContain(`flow not found: sha256:${'a'.repeat(64)}`);
  });

  it('keeps waiting through runs/get when runs/submit returns before the sub-run is terminal', async () => {
    const { exec, runtime } = await setup(flows);
    runtime.submitReturnsEarly = 2;
    const out = resultOf(await exec('/eval', { flow: flowNamed('double'), input: { n: 5 } }));
    expect(out.result).toEqual({ outcome: 'success', result: { doubled: 10 } });
  });
});

describe('/map', () => {
  const flows: Record<string, FakeFlow> = {
    checkEven: (x) => ((x as number) % 2 === 0 ? ok({ even: x }) : { outcome: 'failed', error: { code: 500, kind: 'COMPONENT_FAILED', message: `${String(x)} is odd` } }),
  };

  it('runs one sub-run with one item per element and reports results in index order', async () => {
    const { exec, runtime } = await setup(flows);
    const out = resultOf(await exec('/map', { workflow: flowNamed('checkEven'), items: [2, 3, 4, 5, 6], max_concurrency: 2 }));
    expect(out.results.map((r: FlowResult) => (r.outcome === 'success' ? r.result : r.error.message)))
      .toEqual([{ even: 2 }, '3 is odd', { even: 4 }, '5 is odd', { even: 6 }]);
    expect(out.results[0]).toEqual({ outcome: 'success', result: { even: 2 } });
    expect([out.successful, out.failed]).toEqual([3, 2]);
    expect(runtime.submissions).toHaveLength(1);
    expect(runtime.submissions[0].params).toMatchObject({ inputs: [2, 3, 4, 5, 6], maxConcurrency: 2, wait: true });
  });

  it('defaults the concurrency to the number of items', async () => {
    const { exec, runtime } = await setup(flows);
    await exec('/map', { workflow: flowNamed('checkEven'), items: [2, 4, 6] });
    expect(runtime.submissions[0].params.maxConcurrency).toBe(3);
  });

  it('returns empty results for an empty list without submitting a run', async () => {
    const { exec, runtime } = await setup(flows);
    expect(resultOf(await exec('/map', { workflow: flowNamed('checkEven'), items: [] }))).toEqual({ results: [], successful: 0, failed: 0 });
    expect(runtime.submissions).toHaveLength(0);
  });
});

describe('/iterate', () => {
  const flows: Record<string, FakeFlow> = {
    countdown: (x) => ((x as number) <= 0 ? ok({ result: 'liftoff' }) : ok({ next: (x as number) - 1 })),
    forever: (x) => ok({ next: (x as number) + 1 }),
    shapeless: () => ok({ value: 1 }),
    failsAtTwo: (x) => ((x as number) === 2
      ? { outcome: 'failed', error: { code: 500, kind: 'COMPONENT_FAILED', message: 'boom at 2', data: { at: 2 } } }
      : ok({ next: (x as number) + 1 })),
  };

  it('continues on {next} and stops on {result}', async () => {
    const { exec, runtime } = await setup(flows);
    expect(resultOf(await exec('/iterate', { flow: flowNamed('countdown'), initial_input: 3 })))
      .toEqual({ result: 'liftoff', iterations: 4, terminated: false });
    expect(runtime.submissions.map((s) => s.params.inputs)).toEqual([[3], [2], [1], [0]]);
    // The flow is stored once, every iteration runs the same blob.
    expect(new Set(runtime.submissions.map((s) => s.params.flowId)).size).toBe(1);
  });

  it('stops at max_iterations with terminated: true and the last input as result', async () => {
    const { exec } = await setup(flows);
    expect(resultOf(await exec('/iterate', { flow: flowNamed('forever'), initial_input: 0, max_iterations: 5 })))
      .toEqual({ result: 5, iterations: 5, terminated: true });
    expect(resultOf(await exec('/iterate', { flow: flowNamed('forever'), initial_input: 7, max_iterations: 0 })))
      .toEqual({ result: 7, iterations: 0, terminated: true });
  });

  it('defaults max_iterations to 1000', async () => {
    const { exec, runtime } = await setup(flows);
    expect(resultOf(await exec('/iterate', { flow: flowNamed('forever'), initial_input: 0 })))
      .toEqual({ result: 1000, iterations: 1000, terminated: true });
    expect(runtime.submissions).toHaveLength(1000);
  });

  it('fails when an iteration returns neither result nor next', async () => {
    const { exec } = await setup(flows);
    const error = errorOf(await exec('/iterate', { flow: flowNamed('shapeless'), initial_input: 0 }));
    expect(error.message).toBe("Workflow result must contain either 'result' or 'next' field");
    expect(error.data).toMatchObject({ iteration: 1, output: { value: 1 } });
  });

  it('fails with the failing iteration\'s own error', async () => {
    const { exec } = await setup(flows);
    expect(errorOf(await exec('/iterate', { flow: flowNamed('failsAtTwo'), initial_input: 0 })))
      .toEqual({ code: 500, kind: 'COMPONENT_FAILED', message: 'boom at 2', data: { at: 2 } });
  });
});

describe('subflow keys', () => {
  const flows: Record<string, FakeFlow> = { countdown: (x) => ((x as number) <= 0 ? ok({ result: 0 }) : ok({ next: (x as number) - 1 })) };
  const keysOf = (runtime: FakeRuntime) => runtime.submissions.map((s) => s.params.subflowKey);

  it('are the same when the same step executes again, so the run manager can re-attach', async () => {
    const { exec, runtime } = await setup(flows);
    await exec('/iterate', { flow: flowNamed('countdown'), initial_input: 2 });
    await exec('/iterate', { flow: flowNamed('countdown'), initial_input: 2 }, { ...CALLER, attempt: 2 });
    const keys = keysOf(runtime);
    expect(keys.slice(0, 3)).toEqual(keys.slice(3));
    expect(new Set(keys.slice(0, 3)).size).toBe(3);
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('differ between steps, items and runs', async () => {
    const { exec, runtime } = await setup(flows);
    const input = { flow: flowNamed('countdown'), input: 0 };
    await exec('/eval', input);
    await exec('/eval', input, { ...CALLER, stepId: 'step_b' });
    await exec('/eval', input, { ...CALLER, itemIndex: 4 });
    await exec('/eval', input, { ...CALLER, runId: 'other-run' });
    expect(new Set(keysOf(runtime)).size).toBe(4);
  });

  it('are absent outside a run', async () => {
    const { exec, runtime } = await setup(flows);
    await exec('/eval', { flow: flowNamed('countdown'), input: 0 }, {});
    expect(runtime.submissions[0].params.subflowKey).toBeUndefined();
  });
});

describe('cancellation', () => {
  it('reports a step whose run was cancelled while it waited as CANCELLED', async () => {
    const { plugin, runtime } = await setup({ slow: () => ok(1) });
    const controller = new AbortController();
    runtime.submitReturnsEarly = 5;
    // The run is cancelled while the builtin waits for its sub-run.
    runtime.getRun = async () => {
      controller.abort();
      throw new ProtocolError(ErrorCodes.ServerError, 'run cancelled');
    };
    const r = await plugin.execute({
      component: '/eval', input: { flow: flowNamed('slow'), input: 1 }, attempt: 1, observability: {}, caller: CALLER, signal: controller.signal,
    });
    expect(errorOf(r)).toEqual({ code: 500, kind: 'CANCELLED', message: 'builtin /eval: cancelled' });
  });
});

describe('/await_input', () => {
  it('asks the runtime for the calling item and returns the value', async () => {
    const { exec, runtime } = await setup({}, { approved: true });
    const schema = { type: 'object', properties: { approved: { type: 'boolean' } }, required: ['approved'] };
    expect(resultOf(await exec('/await_input', { prompt: 'Approve the refund?', schema }))).toEqual({ value: { approved: true } });
    expect(runtime.awaited).toEqual([{ params: { prompt: 'Approve the refund?', schema }, caller: CALLER }]);
  });

  it('refuses a schema ajv cannot compile before pausing', async () => {
    const { exec, runtime } = await setup();
    const error = errorOf(await exec('/await_input', { prompt: 'x', schema: { type: 'not-a-type' } }));
    expect(error.kind).toBe('INVALID_INPUT');
    expect(error.message).toContain('schema: not a usable JSON Schema');
    expect(runtime.awaited).toHaveLength(0);
  });

  it('turns a runtime error into a failure, not a throw', async () => {
    const { exec, runtime } = await setup();
    runtime.awaitInput = async () => { throw new ProtocolError(ErrorCodes.ServerError, 'run was purged'); };
    const error = errorOf(await exec('/await_input', { prompt: 'x' }));
    expect(error).toMatchObject({ kind: 'COMPONENT_FAILED', message: 'builtin /await_input: run was purged' });
  });
});

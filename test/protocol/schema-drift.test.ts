import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as blobMethods from '../../protocol/methods/blobs.js';
import * as componentMethods from '../../protocol/methods/components.js';
import * as initializeMethods from '../../protocol/methods/initialize.js';
import * as runMethods from '../../protocol/methods/runs.js';
import * as outputMethods from '../../protocol/methods/outputs.js';
import { packageRoot, validationIssues, validatorFor } from '../../protocol/index.js';
import type {
  AwaitInputParams, AwaitInputResult, ComponentExecuteParams, ComponentExecuteResult, ComponentInferSchemaParams,
  ComponentInferSchemaResult, ComponentInfo, ComponentInfoParams, ComponentInfoResult, FlowError, FlowResult, GetBlobParams,
  GetBlobResult, GetRunParams, InitializeParams, InitializeResult, ItemResult, ItemStatistics, ListComponentsResult,
  ObservabilityContext, PutBlobParams, PutBlobResult, RunStatus, SubmitRunParams, WireFlowResult,
  BlobType, ResultOrder, RunState, ItemWireStatus, StepOverrides, OutputEncoding, OutputsEmitParams, OutputsTakenParams,
} from '../../protocol/index.js';

/** Every method's params/result $defs. A method added to protocol/methods without a row here fails the first test. */
const METHOD_DEFS: Record<string, { params: string; result?: string }> = {
  'initialize': { params: 'InitializeParams', result: 'InitializeResult' },
  'initialized': { params: 'InitializedParams' },
  'components/list': { params: 'ListComponentsParams', result: 'ListComponentsResult' },
  'components/info': { params: 'ComponentInfoParams', result: 'ComponentInfoResult' },
  'components/infer_schema': { params: 'ComponentInferSchemaParams', result: 'ComponentInferSchemaResult' },
  'components/execute': { params: 'ComponentExecuteParams', result: 'ComponentExecuteResult' },
  'blobs/put': { params: 'PutBlobParams', result: 'PutBlobResult' },
  'blobs/get': { params: 'GetBlobParams', result: 'GetBlobResult' },
  'runs/submit': { params: 'SubmitRunParams', result: 'RunStatus' },
  'runs/get': { params: 'GetRunParams', result: 'RunStatus' },
  'inputs/await': { params: 'AwaitInputParams', result: 'AwaitInputResult' },
  'outputs/emit': { params: 'OutputsEmitParams' },
  'outputs/taken': { params: 'OutputsTakenParams' },
};

const FLOW_ID = `sha256:${'b'.repeat(64)}`;
const schema = JSON.parse(readFileSync(join(packageRoot(), 'schemas', 'protocol.json'), 'utf8')) as { $defs: Record<string, unknown> };

function declaredMethods(): string[] {
  return [blobMethods, componentMethods, initializeMethods, runMethods, outputMethods]
    .flatMap((mod) => Object.values(mod))
    .filter((v): v is { method: string } => typeof v === 'object' && v !== null && typeof (v as { method?: unknown }).method === 'string')
    .map((v) => v.method);
}

// Samples typed with the TS types (`satisfies`): a change to protocol/types that the
// schema does not follow fails here (tsc or ajv), whichever side moved.
const observability = { trace_id: '0'.repeat(32), span_id: '0'.repeat(16), run_id: 'r', flow_id: 'f', step_id: 's', item_index: 0 } satisfies ObservabilityContext;
const info = { component: '/udf', description: 'd', input_schema: { type: 'object' }, output_schema: true } satisfies ComponentInfo;
const flowError = { code: 500, kind: 'COMPONENT_FAILED', message: 'boom', data: { stack: [] } } satisfies FlowError;
const wireSuccess = { outcome: 'success', value: 1, result: 1 } satisfies WireFlowResult;
const itemStatistics = { total: 2, pending: 0, running: 0, success: 1, completed: 1, failed: 1, cancelled: 0 } satisfies ItemStatistics;
const itemResult = { itemIndex: 0, status: 'completed', result: wireSuccess, completedAt: '2026-01-01T00:00:00.000Z' } satisfies ItemResult;
const runStatus = {
  runId: '0194a6c2-7c1e-7f30-9a0b-3c8d2e1f4a55', flowId: `sha256:${'a'.repeat(64)}`, flowName: 'n', status: 'failed', items: itemStatistics,
  createdAt: '2026-01-01T00:00:00.000Z', completedAt: '2026-01-01T00:00:01.000Z',
  results: [itemResult, { itemIndex: 1, status: 'failed', result: { outcome: 'failed', error: flowError } }],
} satisfies RunStatus;

const SAMPLES: Record<string, unknown> = {
  BlobType: 'binary' satisfies BlobType,
  ResultOrder: 'byIndex' satisfies ResultOrder,
  RunState: 'paused' satisfies RunState,
  ItemWireStatus: 'completed' satisfies ItemWireStatus,
  StepOverride: { value: { input: 1 } } satisfies StepOverrides[string],
  StepOverrides: { s1: { $type: 'json_patch', value: [] } } satisfies StepOverrides,
  ObservabilityContext: observability,
  InitializeParams: { runtime_protocol_version: 1, observability } satisfies InitializeParams,
  InitializeResult: { server_protocol_version: 1 } satisfies InitializeResult,
  InitializedParams: {},
  ListComponentsParams: {},
  ComponentInfo: info,
  ListComponentsResult: { components: [info, { component: '/bare' }] } satisfies ListComponentsResult,
  ComponentInfoParams: { component: '/udf' } satisfies ComponentInfoParams,
  ComponentInfoResult: { info } satisfies ComponentInfoResult,
  ComponentInferSchemaParams: { component: '/udf', input_schema: { type: 'object' } } satisfies ComponentInferSchemaParams,
  ComponentInferSchemaResult: { output_schema: null } satisfies ComponentInferSchemaResult,
  ComponentExecuteParams: { component: '/udf', input: null, attempt: 1, observability } satisfies ComponentExecuteParams,
  ComponentExecuteResult: { output: { sum: 7 } } satisfies ComponentExecuteResult,
  PutBlobParams: { data: { a: 1 }, blob_type: 'data', observability } satisfies PutBlobParams,
  PutBlobResult: { blob_id: `sha256:${'a'.repeat(64)}` } satisfies PutBlobResult,
  GetBlobParams: { blob_id: 'a'.repeat(64) } satisfies GetBlobParams,
  GetBlobResult: { data: [1, 2], blob_type: 'flow' } satisfies GetBlobResult,
  SubmitRunParams: {
    flowId: `sha256:${'a'.repeat(64)}`, inputs: [{ x: 1 }], wait: true, maxConcurrency: 4,
    overrides: { step1: { $type: 'merge_patch', value: { input: { x: 2 } } } }, variables: { v: 1 }, timeoutSecs: 30,
    observability, subflowKey: 'k', flowLabel: 'label',
  } satisfies SubmitRunParams,
  GetRunParams: { runId: 'r', wait: false, includeResults: true, resultOrder: 'byCompletion', timeoutSecs: 5, observability } satisfies GetRunParams,
  RunStatus: runStatus,
  ItemResult: itemResult,
  ItemStatistics: itemStatistics,
  FlowResult: { outcome: 'success', result: { any: 'thing' } } satisfies FlowResult,
  WireFlowResult: wireSuccess,
  FlowError: flowError,
  AwaitInputParams: { prompt: 'Approve?', schema: { type: 'boolean' }, observability } satisfies AwaitInputParams,
  AwaitInputResult: { value: true } satisfies AwaitInputResult,
  OutputEncoding: 'base64' satisfies OutputEncoding,
  OutputsEmitParams: { seq: 1, attempt: 1, stream: 'tokens', encoding: 'text', chunk: 'Hel', observability } satisfies OutputsEmitParams,
  OutputsTakenParams: { through: 7 } satisfies OutputsTakenParams,
};

function check(def: string, value: unknown): string[] {
  const validate = validatorFor('protocol', def);
  return validate(value) ? [] : validationIssues(validate.errors).map((i) => `${i.path}: ${i.message}`);
}

describe('schemas/protocol.json', () => {
  it('covers every method declared in protocol/methods', () => {
    expect(declaredMethods().sort()).toEqual(Object.keys(METHOD_DEFS).sort());
    for (const { params, result } of Object.values(METHOD_DEFS)) {
      expect(schema.$defs, params).toHaveProperty(params);
      if (result) expect(schema.$defs, result).toHaveProperty(result);
    }
  });

  it('has a sample for every $def, and each sample validates', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(schema.$defs).sort());
    for (const [def, sample] of Object.entries(SAMPLES)) expect(check(def, sample), def).toEqual([]);
  });

  it('accepts null for the optional fields of inputs', () => {
    expect(check('SubmitRunParams', {
      flowId: FLOW_ID, inputs: [], wait: null, maxConcurrency: null, overrides: null, variables: null,
      timeoutSecs: null, observability: null, subflowKey: null, flowLabel: null,
    })).toEqual([]);
    expect(check('GetRunParams', { runId: 'r', wait: null, includeResults: null, resultOrder: null, timeoutSecs: null, observability: null })).toEqual([]);
    expect(check('PutBlobParams', { data: 1, blob_type: 'data', observability: null })).toEqual([]);
    expect(check('ObservabilityContext', { trace_id: null, span_id: null, run_id: null, flow_id: null, step_id: null, item_index: null })).toEqual([]);
    expect(check('ComponentInfo', { component: '/x', description: null, input_schema: null, output_schema: null })).toEqual([]);
  });

  it('accepts resultOrder in both spellings, and overrides wrapped in {steps}', () => {
    for (const order of ['byIndex', 'byCompletion', 'by_index', 'by_completion']) expect(check('GetRunParams', { runId: 'r', resultOrder: order })).toEqual([]);
    expect(check('GetRunParams', { runId: 'r', resultOrder: 'BY_INDEX' })).not.toEqual([]);
    expect(check('SubmitRunParams', { flowId: FLOW_ID, inputs: [], overrides: { steps: { s1: { value: { input: 1 } } } } })).toEqual([]);
    expect(check('SubmitRunParams', { flowId: FLOW_ID, inputs: [], overrides: { s1: { input: 1 } } })).not.toEqual([]);
  });

  it('rejects the wrong casing and missing required fields, naming the field', () => {
    expect(check('PutBlobParams', { data: 1, blobType: 'data' })).toContain('blob_type: must have required property \'blob_type\'');
    expect(check('PutBlobParams', { data: 1, blob_type: 'json' })).not.toEqual([]);
    expect(check('SubmitRunParams', { flow_id: 'f', inputs: [] })).toContain('flowId: must have required property \'flowId\'');
    expect(check('ComponentExecuteParams', { component: '/x', input: 1, attempt: 1 })).toContain('observability: must have required property \'observability\'');
    expect(check('ComponentExecuteParams', { component: '/x', input: 1, attempt: 0, observability: {} })).toContain('attempt: must be >= 1');
    expect(check('InitializeParams', { runtimeProtocolVersion: 1 })).not.toEqual([]);
    expect(check('RunStatus', { ...runStatus, status: 'completed' })).not.toEqual([]);
    expect(check('ItemStatistics', { ...itemStatistics, completed: undefined })).not.toEqual([]);
    expect(check('WireFlowResult', { outcome: 'success', result: 1 })).not.toEqual([]);
    expect(check('FlowResult', { outcome: 'skipped' })).not.toEqual([]);
  });

  it('refuses an outputs/emit without its execution, with a bad stream name, or with text that is not a string', () => {
    const emit = { seq: 1, attempt: 1, chunk: { any: 'json' }, observability };
    expect(check('OutputsEmitParams', emit)).toEqual([]);
    expect(check('OutputsEmitParams', { ...emit, observability: { run_id: 'r', item_index: 0 } })).toContain("observability.step_id: must have required property 'step_id'");
    expect(check('OutputsEmitParams', { ...emit, seq: 0 })).toContain('seq: must be >= 1');
    expect(check('OutputsEmitParams', { ...emit, stream: 'a b' })).not.toEqual([]);
    expect(check('OutputsEmitParams', { ...emit, encoding: 'text', chunk: 5 })).toContain('chunk: must be string');
  });
});

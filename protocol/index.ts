/**
 * The wire contract shared by the runtime and the SDK: types, method constants,
 * error codes, framing and blob ids. No runtime logic lives here.
 * @packageDocumentation
 * @module weft/protocol
 */
export type { BlobId, BlobType } from './types/blob.js';
export { BLOB_TYPES } from './types/blob.js';
export type { TaskErrorCode, FlowError, FlowResult, FlowSuccess, FlowFailure } from './types/flow-result.js';
export { TASK_ERROR_CODES, FLOW_ERROR_CODES, isTaskErrorCode, success, failure, flowError } from './types/flow-result.js';
export type {
  ObservabilityContext, ComponentInfo, InitializeParams, InitializeResult, ListComponentsResult,
  ComponentInfoParams, ComponentInfoResult, ComponentInferSchemaParams, ComponentInferSchemaResult,
  ComponentExecuteParams, ComponentExecuteResult, PutBlobParams, PutBlobResult, GetBlobParams, GetBlobResult,
  AwaitInputParams, AwaitInputResult,
} from './types/component.js';
export type {
  RunState, ItemWireStatus, ResultOrder, StepOverrides, SubmitRunParams, GetRunParams, ItemStatistics,
  WireFlowResult, ItemResult, RunStatus,
} from './types/run.js';
export { TERMINAL_RUN_STATES, isTerminalRunState } from './types/run.js';
export type { ValueExpr, ErrorAction, Step, Flow, FlowTestCase } from './types/flow.js';
export { FLOW_SCHEMA_URL } from './types/flow.js';
export { Initialize, Initialized, RUNTIME_PROTOCOL_VERSION } from './methods/initialize.js';
export { ComponentsList, ComponentsInfo, ComponentsInferSchema, ComponentsExecute } from './methods/components.js';
export { BlobsPut, BlobsGet } from './methods/blobs.js';
export { RunsSubmit, RunsGet, InputsAwait } from './methods/runs.js';
export { OutputsEmit, OutputsTaken } from './methods/outputs.js';
export type { OutputEncoding, OutputsEmitParams, OutputsTakenParams } from './types/output.js';
export { OUTPUT_ENCODINGS, DEFAULT_OUTPUT_STREAM } from './types/output.js';
export { ErrorCodes, ComponentErrorCodes, ProtocolError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { canonicalJson, blobIdOf, blobIdOfText, normalizeBlobId, BLOB_ID_PREFIX } from './blob-id.js';
export { NdjsonMessageReader, NdjsonMessageWriter, DEFAULT_MAX_LINE_BYTES } from './ndjson.js';
export type { NdjsonReaderOptions } from './ndjson.js';
export { DEFAULT_MAX_JSON_DEPTH, depthReason, jsonTooDeep, yamlTooDeep, tooDeepMessage } from './json-depth.js';
export { validatorFor, compileUserSchema, validationIssues, formatValidationError, pointerToPath } from './validate.js';
export type { ValidationIssue } from './validate.js';
export { packageRoot } from './package-root.js';
export { parsePath, applyPath, JsonPathError, NOT_FOUND, EMPTY_PATH } from './json-path.js';
export type { JsonPath, PathSegment } from './json-path.js';

/**
 * weft's embedding API: `import { Runtime } from 'weft'`.
 * @packageDocumentation
 * @module weft
 */
export { Runtime } from './runtime.js';
export type { RuntimeOptions, SubmitOptions, RunCompletedEvent, ComponentListing } from './runtime.js';
export { Run } from './run.js';
export type { FlowVersion, NamedFlow } from './flow-versions.js';
export type { StreamChunk, ReadableOptions } from './run.js';
export type { EventFilter } from './event-filter.js';
export type { WeftConfig, PluginConfig, StdioPluginConfig, RouteRule, StateStoreConfig, RuntimeLimits, ClusterConfig } from './config-types.js';
export type { ExecutorRecord, ExecutorInfo, ExecutorStatus } from '../store/cluster-store.js';
export type { RunEventType } from '../store/state-store.js';
export type {
  RunEvent, RunEventOf, RunCreated, RunStatusChanged, ItemStarted, ItemCompleted, StepStarted, StepCompleted, StepFailed,
  StepAwaitingInput, InputReceived, SubRunCreated, StepOutput, RunCompleted,
  RunCreatedData, RunStatusData, ItemCompletedData, StepCompletedData, StepFailedData, StepAwaitingInputData,
  InputReceivedData, SubRunCreatedData, StepOutputData, RunCompletedData,
} from './run-event-types.js';
export type { ForkOptions } from '../runs/run-manager.js';
export type {
  Flow, Step, FlowResult, FlowError, TaskErrorCode, RunStatus, ItemResult, ItemStatistics, RunState, BlobId, BlobType,
  SubmitRunParams, GetRunParams, ResultOrder,
} from '../../protocol/index.js';

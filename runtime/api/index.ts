// weft's embedding API: `import { Runtime } from 'weft'`.
export { Runtime } from './runtime.js';
export type { RuntimeOptions, SubmitOptions, RunCompletedEvent, ComponentListing } from './runtime.js';
export { Run } from './run.js';
export type { FlowVersion, NamedFlow } from './flow-versions.js';
export type { StreamChunk, ReadableOptions } from './run.js';
export type { EventFilter } from './event-filter.js';
export type { WeftConfig, PluginConfig, StdioPluginConfig, RouteRule, StateStoreConfig, RuntimeLimits } from './config-types.js';
export type { RunEvent, RunEventType } from '../store/state-store.js';
export type { ForkOptions } from '../runs/run-manager.js';
export type {
  Flow, Step, FlowResult, FlowError, TaskErrorCode, RunStatus, ItemResult, ItemStatistics, RunState, BlobId, BlobType,
  SubmitRunParams, GetRunParams, ResultOrder,
} from '../../protocol/index.js';

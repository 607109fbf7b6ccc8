/**
 * Writing component servers for weft (and Stepflow's stdio protocol):
 *
 * ```ts
 * createServer().component('double', { inputSchema }, async (input) => ({ y: input.x * 2 })).serveStdio();
 * ```
 * @packageDocumentation
 * @module weft/sdk
 */
import { ComponentServer } from './component-server.js';

export { ComponentServer, SERVER_PROTOCOL_VERSION } from './component-server.js';
export type { ServeStdioOptions } from './component-server.js';
export { defineComponent, componentPath } from './define-component.js';
export type { ComponentDefinition, ComponentHandler, ComponentOptions, JsonSchema } from './define-component.js';
export type { SchemaType, InputOf } from './schema-type.js';
export type { ComponentContext, SubmitRunOptions, GetRunOptions, AwaitInputOptions, EmitOptions } from './component-context.js';
export { DEFAULT_OUTPUT_WINDOW } from './component-context.js';
export { ComponentError } from './component-error.js';
export type { ComponentErrorOptions } from './component-error.js';
export { RuntimeCallError } from './runtime-call-error.js';
export { guardStdout } from './stdio-guard.js';
export { ErrorCodes, ComponentErrorCodes } from '../protocol/errors.js';
export type {
  BlobId, BlobType, ComponentInfo, ObservabilityContext, RunStatus, RunState, ItemResult, ItemStatistics,
  WireFlowResult, FlowError, SubmitRunParams, GetRunParams,
} from '../protocol/index.js';

/** A new component server: register components with `.component(...)`, then `.serveStdio()`. */
export function createServer(options: { outputWindow?: number } = {}): ComponentServer {
  return new ComponentServer(options);
}

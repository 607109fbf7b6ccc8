/**
 * weft's HTTP client for a `weft serve` process: `import { WeftClient } from 'weft/client'`.
 * @packageDocumentation
 * @module weft/client
 */
export { WeftClient } from './weft-client.js';
export type { WeftClientOptions } from './weft-client.js';
export { WeftHttpError } from './weft-http-error.js';
export { followEvents } from './follow-events.js';
export type { FollowOptions, FollowTransport } from './follow-events.js';
export type {
  WeftEvent, FlowSummary, RunPage, ComponentListing, SubmitRunRequest, GetRunOptions, ForkRunRequest, BlobResponse, RunState, RunStatus,
} from './client-types.js';

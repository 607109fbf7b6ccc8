import type { ComponentInfo, FlowResult, ObservabilityContext } from '../../protocol/index.js';
import type { TraceParent } from '../telemetry/span-ids.js';
import type { CallerContext, RuntimeContext } from './runtime-context.js';

export interface ExecuteRequest {
  /** The route-resolved name the plugin knows (e.g. `/udf` for step component `/python/udf`). */
  component: string;
  input: unknown;
  /** 1-based; increases on every execution of the step (retries, transport retries, recovery). */
  attempt: number;
  observability: ObservabilityContext;
  /** The step this execution belongs to (builtins pass it to RuntimeContext calls). */
  caller: CallerContext;
  /** Aborted when the run is cancelled: stdio plugins send `$/cancelRequest`. */
  signal?: AbortSignal;
  /** The step's component as the flow names it (`/python/udf`): span attributes and metric labels. */
  componentPath?: string;
  /** The span the step's attempt spans hang under (the item's), when tracing is on. */
  traceParent?: TraceParent;
}

/**
 * A source of components: a stdio component server, the builtins, a mock. `execute`
 * resolves to a FlowResult: component failures, crashes, timeouts and garbage are
 * failures *as data* (code UNREACHABLE marks a transport failure worth retrying);
 * it throws only on programming errors.
 */
export interface Plugin {
  readonly name: string;
  /** `creator`: runs that use it stay on the process that submitted them (a shared store; config `affinity`). */
  readonly affinity?: 'creator';
  /** Spawns/handshakes as needed; `runtime` answers the plugin's callbacks. */
  init(runtime: RuntimeContext): Promise<void>;
  listComponents(): Promise<ComponentInfo[]>;
  componentInfo(component: string): Promise<ComponentInfo | undefined>;
  execute(request: ExecuteRequest): Promise<FlowResult>;
  close(): Promise<void>;
}

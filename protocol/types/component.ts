/** Tracing and attribution context sent with every call (snake_case on the wire). */
export interface ObservabilityContext {
  trace_id?: string;
  span_id?: string;
  run_id?: string;
  flow_id?: string;
  step_id?: string;
  /** weft extension: the item of the run that is executing (lets callbacks find their parent). */
  item_index?: number;
}

export interface ComponentInfo {
  component: string;
  description?: string;
  input_schema?: unknown;
  output_schema?: unknown;
}

export interface InitializeParams { runtime_protocol_version: number; observability?: ObservabilityContext }
/**
 * `capabilities.cancel_request` (weft): the server handles JSON-RPC's `$/cancelRequest`.
 * Stepflow's protocol has no cancellation, and its SDK cannot decode that notification,
 * so weft sends it only to servers that say so (weft's SDK does).
 */
export interface InitializeResult { server_protocol_version: number; capabilities?: { cancel_request?: boolean } }

export interface ListComponentsResult { components: ComponentInfo[] }
export interface ComponentInfoParams { component: string }
export interface ComponentInfoResult { info: ComponentInfo }
export interface ComponentInferSchemaParams { component: string; input_schema?: unknown }
export interface ComponentInferSchemaResult { output_schema: unknown | null }

export interface ComponentExecuteParams {
  component: string;
  input: unknown;
  attempt: number;
  observability: ObservabilityContext;
}
export interface ComponentExecuteResult { output: unknown }

export interface PutBlobParams { data: unknown; blob_type: 'data' | 'flow' | 'binary'; observability?: ObservabilityContext }
export interface PutBlobResult { blob_id: string }
export interface GetBlobParams { blob_id: string; observability?: ObservabilityContext }
/**
 * A binary blob is answered as `blob_type: 'data'` with `encoding: 'base64'`: Stepflow's
 * SDK decodes `blob_type` as a closed enum (data, flow) and drops an answer naming
 * `binary`, so it sees a base64 string. (`binary` is still accepted from older runtimes.)
 */
export interface GetBlobResult { data: unknown; blob_type: 'data' | 'flow' | 'binary'; encoding?: 'base64' }

/** weft extension (issue 7): a component asks the runtime for a human's input and waits. */
export interface AwaitInputParams { prompt: string; schema?: unknown; observability?: ObservabilityContext }
export interface AwaitInputResult { value: unknown }

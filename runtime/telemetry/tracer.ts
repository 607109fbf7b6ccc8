import type { TraceParent } from './span-ids.js';

export type SpanAttributes = Record<string, string | number | boolean | undefined>;

export interface SpanOptions {
  kind?: 'internal' | 'client' | 'server';
  /** The parent span (local or remote). */
  parent?: TraceParent;
  /** Without a parent: the trace id the new root span gets (a run's own trace id). */
  traceId?: string;
  attributes?: SpanAttributes;
  /** Epoch milliseconds (default now). */
  startTime?: number;
}

/** One span, as weft uses it: ids for the wire and for children, attributes, an error, an end. */
export interface WeftSpan {
  readonly context: TraceParent;
  setAttributes(attributes: SpanAttributes): void;
  /** Marks the span failed: status ERROR, `error.type`, and an `exception` event with the message. */
  fail(errorType: string, message: string): void;
  end(): void;
}

/**
 * What weft needs of a tracing backend. The OpenTelemetry one (otel-tracer.ts) is loaded
 * only when an exporter is configured; until then `activeTracer()` is undefined and the
 * hot paths only draw span ids (span-ids.ts), so tracing off costs nothing measurable.
 */
export interface Tracer {
  startSpan(name: string, options?: SpanOptions): WeftSpan;
  /** Exports what has ended so far; never rejects (a collector that is down loses spans, not runs). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

let active: Tracer | undefined;

/** The process's tracer, or undefined when tracing is off. */
export function activeTracer(): Tracer | undefined { return active; }

/** Installs (or, with undefined, removes) the process's tracer; returns the previous one. */
export function setActiveTracer(tracer: Tracer | undefined): Tracer | undefined {
  const previous = active;
  active = tracer;
  return previous;
}

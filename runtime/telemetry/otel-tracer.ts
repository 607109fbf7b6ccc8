// Loaded only when tracing is on (start-tracing.ts imports it dynamically): the
// OpenTelemetry SDK costs tens of milliseconds of start-up that `weft run` without
// tracing must not pay. OpenTelemetry JS 2.x (the 3.x SDK needs Node 22).
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import type { Span, Tracer as OtelApiTracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { IdGenerator, ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { randomSpanId } from './span-ids.js';
import type { TraceParent } from './span-ids.js';
import type { SpanAttributes, SpanOptions, Tracer, WeftSpan } from './tracer.js';

export interface OtelTracerOptions {
  /** Where spans go: an OTLP/HTTP exporter (from the OTEL_* variables) unless given (tests: an InMemorySpanExporter). */
  exporter?: SpanExporter;
  /** Export each span as it ends (tests) instead of in batches. */
  simple?: boolean;
  serviceName?: string;
  /** Reports the first failed export (a collector that is down), once. */
  warn?: (message: string) => void;
  /** The longest flush() waits for the collector (default 2 s): `weft run` must not hang on its way out. */
  flushTimeoutMs?: number;
}

const KINDS = { internal: SpanKind.INTERNAL, client: SpanKind.CLIENT, server: SpanKind.SERVER } as const;

/** A weft Tracer over an OpenTelemetry BasicTracerProvider with its own provider (no global registration). */
export async function createOtelTracer(options: OtelTracerOptions = {}): Promise<Tracer> {
  let exporter = options.exporter;
  if (!exporter) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    exporter = new OTLPTraceExporter(); // endpoint, headers, timeout from OTEL_EXPORTER_OTLP_*
  }
  const ids = new RunTraceIds();
  let warned = false;
  const warn = (message: string): void => {
    if (warned) return;
    warned = true;
    options.warn?.(message);
  };
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName ?? process.env.OTEL_SERVICE_NAME ?? 'weft' }),
    idGenerator: ids,
    spanProcessors: [options.simple ? new SimpleSpanProcessor(reporting(exporter, warn)) : new BatchSpanProcessor(reporting(exporter, warn))],
  });
  const tracer = provider.getTracer('weft', '0.1.0');
  const flushTimeoutMs = options.flushTimeoutMs ?? 2000;
  const bounded = (work: Promise<void>): Promise<void> => new Promise<void>((done) => {
    const timer = setTimeout(() => {
      warn(`trace export did not finish within ${flushTimeoutMs} ms (is the collector running?): spans may be lost`);
      done();
    }, flushTimeoutMs);
    timer.unref();
    work.then(() => { clearTimeout(timer); done(); }, () => { clearTimeout(timer); done(); });
  });
  return {
    startSpan: (name, o) => startSpan(tracer, ids, name, o ?? {}),
    flush: () => bounded(provider.forceFlush()),
    shutdown: () => bounded(provider.shutdown()),
  };
}

function startSpan(tracer: OtelApiTracer, ids: RunTraceIds, name: string, o: SpanOptions): WeftSpan {
  const parent = o.parent
    ? trace.setSpanContext(ROOT_CONTEXT, { traceId: o.parent.traceId, spanId: o.parent.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true })
    : ROOT_CONTEXT;
  // A root span takes the trace id it is given (a run's own) through the id generator.
  ids.next = o.parent ? undefined : o.traceId;
  const span = tracer.startSpan(name, { kind: KINDS[o.kind ?? 'internal'], attributes: defined(o.attributes), ...(o.startTime ? { startTime: o.startTime } : {}) }, parent);
  ids.next = undefined;
  return new OtelSpan(span);
}

class OtelSpan implements WeftSpan {
  readonly context: TraceParent;
  private ended = false;
  constructor(private readonly span: Span) {
    const c = span.spanContext();
    this.context = { traceId: c.traceId, spanId: c.spanId };
  }
  setAttributes(attributes: SpanAttributes): void { this.span.setAttributes(defined(attributes)); }
  fail(errorType: string, message: string): void {
    this.span.setAttribute('error.type', errorType);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message });
    this.span.addEvent('exception', { 'exception.type': errorType, 'exception.message': message });
  }
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.span.end();
  }
}

/** Random ids, except that the next trace id can be chosen (a root run's span gets the run's id). */
class RunTraceIds implements IdGenerator {
  next: string | undefined;
  generateTraceId(): string { return this.next ?? randomSpanId() + randomSpanId(); }
  generateSpanId(): string { return randomSpanId(); }
}

function defined(attributes: SpanAttributes | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(attributes ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

/** Passes spans through; a failed export is reported (once, by `warn`): the collector is down, runs go on. */
function reporting(exporter: SpanExporter, warn: (message: string) => void): SpanExporter {
  return {
    export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]) {
      exporter.export(spans, (result) => {
        if (result.code !== 0 /* ExportResultCode.SUCCESS */) warn(`trace export failed (spans are dropped, runs go on): ${result.error?.message ?? 'unknown error'}`);
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

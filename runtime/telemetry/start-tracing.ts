import { activeTracer, setActiveTracer } from './tracer.js';
import type { Tracer } from './tracer.js';

export interface TracingSettings {
  /** OTLP/HTTP base URL (the config's `observability.otlpEndpoint`); the OTEL_* variables win. */
  otlpEndpoint?: string;
  serviceName?: string;
}

let started = false;

/** Whether this process started OpenTelemetry export (the CLI then exits without waiting for a dead collector's retries). */
export function tracingStarted(): boolean { return started; }

/**
 * Whether spans are to be exported: an OTLP endpoint in the standard variables
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) or the config,
 * unless `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`.
 */
export function tracingRequested(env: NodeJS.ProcessEnv, settings?: TracingSettings): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || settings?.otlpEndpoint);
}

/**
 * Starts OpenTelemetry export when it is requested and no tracer is active yet; loads
 * the SDK only then. Resolves to the tracer it installed (the caller owns it), else
 * undefined. Failing to load or configure the SDK is reported and leaves tracing off:
 * it never stops a run.
 */
export async function startTracing(env: NodeJS.ProcessEnv, settings: TracingSettings | undefined, warn: (message: string) => void): Promise<Tracer | undefined> {
  if (activeTracer() || !tracingRequested(env, settings)) return undefined;
  try {
    const { createOtelTracer } = await import('./otel-tracer.js');
    let exporter;
    if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT && settings?.otlpEndpoint) {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
      exporter = new OTLPTraceExporter({ url: `${settings.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` });
    }
    const tracer = await createOtelTracer({
      ...(exporter ? { exporter } : {}),
      ...(env.OTEL_SERVICE_NAME || settings?.serviceName ? { serviceName: env.OTEL_SERVICE_NAME || settings!.serviceName! } : {}),
      warn,
    });
    if (activeTracer()) return undefined; // another runtime of this process was quicker
    setActiveTracer(tracer);
    started = true;
    return tracer;
  } catch (error) {
    warn(`tracing is off: cannot start OpenTelemetry: ${(error as Error).message}`);
    return undefined;
  }
}

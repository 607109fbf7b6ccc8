/**
 * What the runtime reports as it goes, for `GET /metrics` (prom-metrics.ts implements it
 * with prom-client). Nothing is installed unless a server serves metrics: the hot paths
 * then pay one undefined check.
 */
export interface MetricsSink {
  /** One execution of a step (an attempt) ended; `component` is the step's component path. */
  stepFinished(component: string, outcome: 'success' | 'failed', seconds: number): void;
  /** A component server process was started again after it died. */
  serverRestarted(plugin: string): void;
  /** One group commit: its transaction and the fsync that covers it. */
  storeCommit(seconds: number): void;
}

let sink: MetricsSink | undefined;

export function metricsSink(): MetricsSink | undefined { return sink; }

/** Installs (or with undefined removes) the process's metrics sink; returns the previous one. */
export function setMetricsSink(next: MetricsSink | undefined): MetricsSink | undefined {
  const previous = sink;
  sink = next;
  return previous;
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ActiveRun } from '../runs/active-run.js';
import type { RunEvent } from '../store/state-store.js';
import type { MetricsSink } from '../telemetry/metrics-sink.js';

const STEP_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];
const COMMIT_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1];

/**
 * weft's Prometheus metrics (prom-client, its own registry): run and item counters from
 * the run events, step durations, restarts and commit latency as the runtime reports them
 * (MetricsSink), and what is in progress read from the live runs at scrape time.
 */
export class PromMetrics implements MetricsSink {
  readonly registry = new Registry();
  private readonly runsCreated: Counter;
  private readonly runsFinished: Counter<'status'>;
  private readonly itemsStarted: Counter;
  private readonly itemsFinished: Counter<'outcome'>;
  private readonly stepSeconds: Histogram<'component' | 'outcome'>;
  private readonly restarts: Counter<'plugin'>;
  private readonly commitSeconds: Histogram;

  constructor(activeRuns: () => Iterable<ActiveRun>) {
    const registers = [this.registry];
    this.runsCreated = new Counter({ name: 'weft_runs_created_total', help: 'Runs submitted to this process.', registers });
    this.runsFinished = new Counter({ name: 'weft_runs_finished_total', help: 'Runs finished, by final status.', labelNames: ['status'], registers });
    new Gauge({
      name: 'weft_runs_active', help: 'Runs this process executes now, by status (running, paused).', labelNames: ['status'], registers,
      collect() {
        let running = 0; let paused = 0;
        for (const run of activeRuns()) { if (run.paused > 0 && run.paused >= run.inFlight) paused++; else running++; }
        this.set({ status: 'running' }, running);
        this.set({ status: 'paused' }, paused);
      },
    });
    new Gauge({
      name: 'weft_items_pending', help: 'Items of the runs in progress not started yet (the queue depth).', registers,
      collect() {
        let pending = 0;
        for (const run of activeRuns()) pending += run.pendingItems;
        this.set(pending);
      },
    });
    this.itemsStarted = new Counter({ name: 'weft_items_started_total', help: 'Items started (a resumed item counts again).', registers });
    this.itemsFinished = new Counter({ name: 'weft_items_finished_total', help: 'Items finished, by outcome.', labelNames: ['outcome'], registers });
    this.stepSeconds = new Histogram({
      name: 'weft_step_duration_seconds', help: 'Duration of one step attempt (component call), by component path and outcome.',
      labelNames: ['component', 'outcome'], buckets: STEP_BUCKETS, registers,
    });
    this.restarts = new Counter({ name: 'weft_component_server_restarts_total', help: 'Component server processes started again after they died.', labelNames: ['plugin'], registers });
    this.commitSeconds = new Histogram({ name: 'weft_store_commit_seconds', help: 'Latency of one group commit: the transaction and the fsync covering it.', buckets: COMMIT_BUCKETS, registers });
    collectDefaultMetrics({ register: this.registry, prefix: 'weft_' });
  }

  /** Counts what a committed run event reports. */
  readonly onRunEvent = (event: RunEvent): void => {
    switch (event.type) {
      case 'run_created': this.runsCreated.inc(); break;
      case 'run_completed': this.runsFinished.inc({ status: String((event.data as { status?: string } | undefined)?.status) }); break;
      case 'item_started': this.itemsStarted.inc(); break;
      case 'item_completed': this.itemsFinished.inc({ outcome: String((event.data as { outcome?: string } | undefined)?.outcome) }); break;
      default:
    }
  };

  stepFinished(component: string, outcome: 'success' | 'failed', seconds: number): void {
    this.stepSeconds.observe({ component, outcome }, seconds);
  }

  serverRestarted(plugin: string): void { this.restarts.inc({ plugin }); }

  storeCommit(seconds: number): void { this.commitSeconds.observe(seconds); }

  get contentType(): string { return this.registry.contentType; }

  render(): Promise<string> { return this.registry.metrics(); }
}

import { failure, formatValidationError, success, validationIssues } from '../../protocol/index.js';
import type { FlowFailure, FlowResult } from '../../protocol/index.js';
import { executeWithRetries } from '../plugins/execute-with-retries.js';
import { onAbort } from '../plugins/on-abort.js';
import type { ExecuteRequest } from '../plugins/plugin.js';
import { componentValidators, loadedComponentValidators } from './component-validators.js';
import type { ItemExecutionRequest } from './item-execution.js';
import type { LoadedStep } from './load-flow.js';
import { DONE, findReadySteps, RUNNING } from './step-graph.js';
import { evaluate } from './value-expr.js';
import type { EvalEnv } from './value-expr.js';

const DEFAULT_TRANSPORT_RETRIES = 3;
const DEFAULT_MAX_RETRIES = 3;

/**
 * Runs one item of a flow (flows.md §7–9): validates the input, runs only the steps the
 * output (lazily) or `mustExecute` needs, each as soon as what it needs has finished, and
 * evaluates `output`. Failures are data; it rejects only when the journal fails.
 */
export function executeItem(req: ItemExecutionRequest): Promise<FlowResult> {
  const validate = req.flow.validateInput;
  if (validate && !validate(req.input)) {
    const issues = validationIssues(validate.errors);
    const message = `input does not match the flow's input schema: ${formatValidationError(undefined, issues)}`;
    if (!req.onInputMismatch) return Promise.resolve(failure('INVALID_INPUT', message, { issues }));
    req.onInputMismatch(message);
  }
  if (req.signal?.aborted) return Promise.resolve(cancelled());
  return new ItemRun(req).start();
}

const cancelled = (): FlowFailure => failure('CANCELLED', 'the run was cancelled');

/** Whether `onError: retry` applies: transport failures have their own budget, cancellation is final. */
const retryable = (r: FlowFailure): boolean => r.error.kind !== 'UNREACHABLE' && r.error.kind !== 'TIMEOUT' && r.error.kind !== 'CANCELLED';

interface StepOutcome { result: FlowResult; attempt: number }

/** The mutable state of one item; methods rather than closures keep the per-item cost small. */
class ItemRun {
  private readonly state: Uint8Array;
  private readonly results: (FlowResult | undefined)[];
  private readonly lastAttempt: Int32Array;
  private readonly env: EvalEnv;
  private running = 0;
  private settled = false;
  private resolve!: (r: FlowResult) => void;
  private reject!: (e: unknown) => void;
  private offAbort: (() => void) | undefined;

  constructor(private readonly req: ItemExecutionRequest) {
    const n = req.flow.steps.length;
    this.state = new Uint8Array(n);
    this.results = new Array<FlowResult | undefined>(n);
    this.lastAttempt = new Int32Array(n);
    if (req.prior) {
      for (const [id, p] of req.prior) {
        const i = req.flow.stepIndex.get(id);
        if (i === undefined) continue;
        this.lastAttempt[i] = p.lastAttempt;
        // A journaled result counts as a step that just finished: it is not executed again.
        if (p.result) {
          this.results[i] = p.result;
          this.state[i] = DONE;
        }
      }
    }
    this.env = { input: req.input, results: this.results, variables: req.variables, variableDefaults: req.flow.variableDefaults };
  }

  start(): Promise<FlowResult> {
    const promise = new Promise<FlowResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    const signal = this.req.signal;
    if (signal) this.offAbort = onAbort(signal, () => this.settle(cancelled()));
    this.schedule();
    return promise;
  }

  private settle(result: FlowResult | Error): void {
    if (this.settled) return;
    this.settled = true;
    this.offAbort?.();
    if (result instanceof Error) this.reject(result);
    else this.resolve(result);
  }

  /** Starts every step that is needed and ready; evaluates the output once nothing is left. */
  private schedule(): void {
    if (this.settled) return;
    if (this.req.signal?.aborted) return this.settle(cancelled());
    const ready: number[] = [];
    findReadySteps(this.req.flow, this.env, this.state, ready);
    for (const i of ready) {
      this.state[i] = RUNNING;
      this.running++;
      this.runStep(i).then(undefined, (e: unknown) => this.settle(e instanceof Error ? e : new Error(String(e))));
    }
    if (this.running === 0) this.settle(evaluate(this.req.flow.output, this.env));
  }

  private async runStep(i: number): Promise<void> {
    const step = this.req.flow.steps[i];
    const input = evaluate(step.input, this.env);
    // An input failure short-circuits: the component is not called and onError does not apply.
    const outcome: StepOutcome = input.outcome === 'failed'
      ? { result: input, attempt: this.lastAttempt[i] }
      : await this.callComponent(step, input.result, this.lastAttempt[i]);
    if (this.req.journal) await this.req.journal.stepFinished(step.id, outcome.attempt, outcome.result);
    this.results[i] = outcome.result;
    this.state[i] = DONE;
    this.running--;
    this.schedule();
  }

  private async callComponent(step: LoadedStep, input: unknown, lastAttempt: number): Promise<StepOutcome> {
    const { req } = this;
    const route = req.router.resolve(step.component, input);
    if ('error' in route) {
      return { result: failure('COMPONENT_NOT_FOUND', `error routing component ${step.component}: ${route.error}`), attempt: lastAttempt };
    }
    const validators = loadedComponentValidators(route.plugin, route.component) ?? await componentValidators(route.plugin, route.component);
    if (validators.input && !validators.input(input)) {
      const issues = validationIssues(validators.input.errors);
      return {
        result: failure('INVALID_INPUT', `input of step "${step.id}" does not match the input schema of ${step.component}: ${formatValidationError(undefined, issues)}`, { issues }),
        attempt: lastAttempt,
      };
    }
    const onError = step.onError;
    let retriesLeft = onError.action === 'retry' ? (onError.maxRetries ?? DEFAULT_MAX_RETRIES) : 0;
    let attempt = lastAttempt;
    const journal = req.journal;
    let journalError: unknown;
    const onAttempt = async (a: number): Promise<void> => {
      attempt = a;
      if (!journal) return;
      try {
        await journal.stepStarted(step.id, a);
      } catch (e) {
        journalError = e;
        throw e;
      }
    };
    for (;;) {
      const request: ExecuteRequest = {
        component: route.component,
        input,
        attempt: attempt + 1,
        // executeWithRetries gives each attempt its own span_id.
        observability: { trace_id: req.traceId, run_id: req.runId, flow_id: req.flowId, step_id: step.id, item_index: req.itemIndex },
        caller: { runId: req.runId, itemIndex: req.itemIndex, stepId: step.id, attempt: attempt + 1, signal: req.signal },
        signal: req.signal,
        componentPath: step.component,
        traceParent: req.traceParent,
      };
      let result: FlowResult;
      try {
        result = await executeWithRetries(route.plugin, request, { budget: req.transportRetries ?? DEFAULT_TRANSPORT_RETRIES, onAttempt });
      } catch (e) {
        // A journal failure is infrastructure: the item cannot be made durable, so it rejects.
        if (journalError !== undefined) throw e;
        // Plugins report failures as data; one that throws has a bug, which fails only this step.
        result = failure('ORCHESTRATOR_ERROR', `plugin ${route.plugin.name} threw while executing ${route.component}: ${(e as Error)?.message ?? String(e)}`);
      }
      if (result.outcome === 'success' && validators.output && !validators.output(result.result)) {
        const issues = validationIssues(validators.output.errors);
        result = failure('COMPONENT_FAILED', `output of ${step.component} does not match its output schema: ${formatValidationError(undefined, issues)}`, { issues });
      }
      if (result.outcome === 'success') return { result, attempt };
      if (retriesLeft > 0 && retryable(result) && !req.signal?.aborted) {
        retriesLeft--;
        continue;
      }
      if (onError.action === 'useDefault' && result.error.kind !== 'CANCELLED') {
        return { result: success(onError.defaultValue ?? null), attempt };
      }
      return { result, attempt };
    }
  }
}

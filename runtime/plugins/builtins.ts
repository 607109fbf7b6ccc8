import { compileUserSchema, failure, formatValidationError, validationIssues } from '../../protocol/index.js';
import type { ComponentInfo, FlowResult } from '../../protocol/index.js';
import type { ExecuteRequest, Plugin } from './plugin.js';
import type { RuntimeContext } from './runtime-context.js';
import type { BuiltinComponent } from './builtins/builtin-component.js';
import { awaitInput } from './builtins/await-input.js';
import { createMessages } from './builtins/create-messages.js';
import { evalFlow } from './builtins/eval.js';
import { failureFromError } from './builtins/failure-from-error.js';
import { getBlob } from './builtins/get-blob.js';
import { iterateFlow } from './builtins/iterate.js';
import { createLoadFile } from './builtins/load-file.js';
import type { LoadFileScope } from './builtins/load-file.js';
import { mapFlow } from './builtins/map.js';
import { putBlob } from './builtins/put-blob.js';

export interface BuiltinPluginOptions {
  /** What `/load_file` may read (default: the process's working directory as the root). */
  loadFile?: LoadFileScope;
}

// The input validator is compiled on a component's first call: compiling all eight at start
// cost every `weft` command ~15 ms, and most runs call one or two builtins.
interface Registered { def: BuiltinComponent; validate?: ReturnType<typeof compileUserSchema> }

/**
 * The `/builtin/*` components as a Plugin. Stepflow's `/openai` is not provided: weft
 * makes no network calls of its own; a component server can offer it.
 */
export class BuiltinPlugin implements Plugin {
  readonly name = 'builtin';
  private readonly components = new Map<string, Registered>();
  private runtime: RuntimeContext | undefined;

  constructor(options: BuiltinPluginOptions = {}) {
    const defs: BuiltinComponent[] = [
      putBlob, getBlob, evalFlow, mapFlow, iterateFlow, createMessages,
      createLoadFile(options.loadFile ?? { root: process.cwd() }), awaitInput,
    ];
    for (const def of defs) this.components.set(def.component, { def });
  }

  async init(runtime: RuntimeContext): Promise<void> {
    this.runtime = runtime;
  }

  async listComponents(): Promise<ComponentInfo[]> {
    return [...this.components.values()].map(({ def }) => infoOf(def));
  }

  async componentInfo(component: string): Promise<ComponentInfo | undefined> {
    const found = this.components.get(component);
    return found && infoOf(found.def);
  }

  async execute(request: ExecuteRequest): Promise<FlowResult> {
    const found = this.components.get(request.component);
    if (!found) {
      return failure('COMPONENT_NOT_FOUND',
        `no builtin component ${request.component} (available: ${[...this.components.keys()].join(', ')})`);
    }
    const validate = (found.validate ??= compileUserSchema(found.def.input_schema));
    const issues = validate(request.input) ? [] : validationIssues(validate.errors).filter((i) => i.rule !== 'if');
    if (issues.length > 0) {
      return failure('INVALID_INPUT',
        `builtin ${request.component}: invalid input: ${formatValidationError(undefined, issues).replace(/\n/g, '; ')}`,
        { issues });
    }
    if (!this.runtime) return failure('ORCHESTRATOR_ERROR', `builtin ${request.component}: the builtin plugin was not initialised`);
    try {
      const result = await found.def.run(request.input, request, this.runtime);
      return request.signal?.aborted ? failure('CANCELLED', `builtin ${request.component}: cancelled`) : result;
    } catch (err) {
      return failureFromError(request.component, err, request.signal);
    }
  }

  async close(): Promise<void> {}
}

const infoOf = (def: BuiltinComponent): ComponentInfo => ({
  component: def.component,
  description: def.description,
  input_schema: def.input_schema,
  output_schema: def.output_schema,
});

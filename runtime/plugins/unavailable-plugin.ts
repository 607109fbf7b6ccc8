import { failure } from '../../protocol/index.js';
import type { ComponentInfo, FlowResult } from '../../protocol/index.js';
import { log } from '../telemetry/logger.js';
import type { ExecuteRequest, Plugin } from './plugin.js';
import type { RuntimeContext } from './runtime-context.js';

/**
 * A configured plugin weft cannot run (a Stepflow type or transport it does not support,
 * such as `mcp` or `transport: http`): the config still loads, the plugin is reported once
 * when the runtime starts, and a step routed to it fails with COMPONENT_NOT_FOUND naming it.
 */
export class UnavailablePlugin implements Plugin {
  constructor(readonly name: string, readonly reason: string) {}

  async init(_runtime: RuntimeContext): Promise<void> {
    log('warn', { plugin: this.name }, `plugin "${this.name}" is unavailable: ${this.reason}; steps routed to it fail with COMPONENT_NOT_FOUND`);
  }

  async listComponents(): Promise<ComponentInfo[]> { return []; }

  async componentInfo(_component: string): Promise<ComponentInfo | undefined> { return undefined; }

  async execute(request: ExecuteRequest): Promise<FlowResult> {
    return failure('COMPONENT_NOT_FOUND', `component ${request.componentPath ?? request.component}: plugin "${this.name}" is unavailable: ${this.reason}`);
  }

  async close(): Promise<void> {}
}

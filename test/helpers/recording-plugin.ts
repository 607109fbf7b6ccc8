import type { ComponentInfo, FlowResult } from '../../protocol/index.js';
import { failure } from '../../protocol/index.js';
import type { ExecuteRequest, Plugin } from '../../runtime/plugins/plugin.js';

export type ComponentHandler = (input: unknown, request: ExecuteRequest) => FlowResult | Promise<FlowResult>;

export interface RecordedCall {
  component: string;
  input: unknown;
  attempt: number;
  request: ExecuteRequest;
  startedAt: number;
  finishedAt?: number;
}

/**
 * An in-process plugin whose components are plain functions; it records every execution
 * so tests can assert which steps ran, with what, when and at which attempt.
 */
export class RecordingPlugin implements Plugin {
  readonly calls: RecordedCall[] = [];

  private readonly handlers: Record<string, ComponentHandler> = {};
  private readonly infos: Record<string, Omit<ComponentInfo, 'component'>> = {};

  /** Component names may be given with or without the leading `/` (`echo` is `/echo`). */
  constructor(
    readonly name: string,
    handlers: Record<string, ComponentHandler>,
    infos: Record<string, Omit<ComponentInfo, 'component'>> = {},
  ) {
    const slash = (n: string) => (n.startsWith('/') ? n : `/${n}`);
    for (const [n, h] of Object.entries(handlers)) this.handlers[slash(n)] = h;
    for (const [n, i] of Object.entries(infos)) this.infos[slash(n)] = i;
  }

  async init(): Promise<void> {}
  async close(): Promise<void> {}

  async listComponents(): Promise<ComponentInfo[]> {
    return Object.keys(this.handlers).map((component) => ({ component, ...this.infos[component] }));
  }

  async componentInfo(component: string): Promise<ComponentInfo | undefined> {
    return component in this.handlers ? { component, ...this.infos[component] } : undefined;
  }

  async execute(request: ExecuteRequest): Promise<FlowResult> {
    const call: RecordedCall = { component: request.component, input: request.input, attempt: request.attempt, request, startedAt: Date.now() };
    this.calls.push(call);
    const handler = this.handlers[request.component];
    const result = handler ? await handler(request.input, request) : failure('COMPONENT_NOT_FOUND', `no component ${request.component}`);
    call.finishedAt = Date.now();
    return result;
  }

  /** Components called, in call order. */
  called(): string[] {
    return this.calls.map((c) => c.component);
  }
}

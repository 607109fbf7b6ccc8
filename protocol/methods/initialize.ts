import { NotificationType, RequestType } from 'vscode-jsonrpc/node';
import type { InitializeParams, InitializeResult } from '../types/component.js';

/** runtime → server: the first request on a new connection. */
export const Initialize = new RequestType<InitializeParams, InitializeResult, void>('initialize');
/** runtime → server: sent (with `params: {}`) once `initialize` has been answered. */
export const Initialized = new NotificationType<Record<string, never>>('initialized');

export const RUNTIME_PROTOCOL_VERSION = 1;

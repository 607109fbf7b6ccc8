import { RequestType } from 'vscode-jsonrpc/node';
import type {
  ComponentExecuteParams, ComponentExecuteResult, ComponentInferSchemaParams, ComponentInferSchemaResult,
  ComponentInfoParams, ComponentInfoResult, ListComponentsResult,
} from '../types/component.js';

/** runtime → server */
export const ComponentsList = new RequestType<Record<string, never>, ListComponentsResult, void>('components/list');
/** runtime → server */
export const ComponentsInfo = new RequestType<ComponentInfoParams, ComponentInfoResult, void>('components/info');
/** runtime → server */
export const ComponentsInferSchema = new RequestType<ComponentInferSchemaParams, ComponentInferSchemaResult, void>('components/infer_schema');
/** runtime → server */
export const ComponentsExecute = new RequestType<ComponentExecuteParams, ComponentExecuteResult, void>('components/execute');

/** A value expression: any JSON, where objects with `$step`, `$input`, ... keys are evaluated. */
export type ValueExpr = unknown;

export type ErrorAction =
  | { action: 'fail' }
  | { action: 'useDefault'; defaultValue?: unknown }
  | { action: 'retry'; maxRetries?: number };

export interface Step {
  id: string;
  component: string;
  input?: ValueExpr;
  onError?: ErrorAction;
  mustExecute?: boolean;
  metadata?: Record<string, unknown>;
}

export interface FlowTestCase {
  name: string;
  description?: string;
  input: unknown;
  output?: { outcome: 'success'; result: unknown } | { outcome: 'failed'; error: { code?: unknown; kind?: string; message: string; data?: unknown } };
}

export interface Flow {
  schema: 'https://stepflow.org/schemas/v1/flow.json';
  name?: string;
  description?: string;
  version?: string;
  metadata?: Record<string, unknown>;
  schemas?: {
    type?: 'object';
    $defs?: Record<string, unknown>;
    properties?: { input?: unknown; output?: unknown; variables?: unknown; steps?: unknown };
  } | null;
  steps?: Step[] | null;
  output?: ValueExpr;
  test?: { config?: unknown; cases?: FlowTestCase[] };
  examples?: { name: string; description?: string; input: unknown }[];
}

export const FLOW_SCHEMA_URL = 'https://stepflow.org/schemas/v1/flow.json';

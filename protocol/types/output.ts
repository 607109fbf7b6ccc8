import type { ObservabilityContext } from './component.js';

/** How a chunk travels: any JSON value, a string of text, or bytes as a base64 string. */
export type OutputEncoding = 'json' | 'text' | 'base64';

export const OUTPUT_ENCODINGS: readonly OutputEncoding[] = ['json', 'text', 'base64'];

/** The stream a chunk goes to when the component names none. */
export const DEFAULT_OUTPUT_STREAM = 'default';

/** outputs/emit: a chunk of the execution named by `observability` (run, item, step) and `attempt`. */
export interface OutputsEmitParams {
  /** Per connection, from 1, increasing by one: what outputs/taken acknowledges. */
  seq: number;
  /** The attempt of the components/execute this chunk belongs to. */
  attempt: number;
  /** Default `default`. */
  stream?: string | null;
  /** Default `json`. */
  encoding?: OutputEncoding | null;
  chunk: unknown;
  observability: ObservabilityContext;
}

export interface OutputsTakenParams { through: number }

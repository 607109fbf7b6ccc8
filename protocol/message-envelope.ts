/**
 * What a JSON-RPC line is, read from its first and last few KiB only: for a line too long
 * to parse, so that it can still be answered. Only top-level keys are found: those before
 * `params`/`result` that hold plain values (how every SDK orders them), or the last key.
 */
export interface Envelope { id?: string | number; method?: string; kind?: 'request' | 'response' }

const SCALAR = String.raw`(?:-?\d+|"(?:[^"\\]|\\.)*")`;
// The leading run of simple members: `{"jsonrpc":"2.0","id":5,` …
const LEAD = String.raw`^\s*\{(?:\s*"(?:jsonrpc|id|method)"\s*:\s*${SCALAR}\s*,)*\s*`;
const HEAD_ID = new RegExp(String.raw`${LEAD}"id"\s*:\s*(${SCALAR})`);
const HEAD_METHOD = new RegExp(String.raw`${LEAD}"method"\s*:\s*("(?:[^"\\]|\\.)*")`);
const HEAD_RESPONSE = new RegExp(String.raw`${LEAD}"(?:result|error)"\s*:`);
const TAIL_ID = new RegExp(String.raw`,\s*"id"\s*:\s*(${SCALAR})\s*\}\s*$`);
const TAIL_METHOD = new RegExp(String.raw`,\s*"method"\s*:\s*("(?:[^"\\]|\\.)*")\s*\}\s*$`);

export function envelopeOf(head: string, tail: string): Envelope {
  const id = scalar(HEAD_ID.exec(head)?.[1] ?? TAIL_ID.exec(tail)?.[1]);
  const method = scalar(HEAD_METHOD.exec(head)?.[1] ?? TAIL_METHOD.exec(tail)?.[1]);
  const envelope: Envelope = {};
  if (typeof id === 'string' || typeof id === 'number') envelope.id = id;
  if (typeof method === 'string') {
    envelope.method = method;
    envelope.kind = 'request';
  } else if (HEAD_RESPONSE.test(head)) {
    envelope.kind = 'response';
  }
  return envelope;
}

function scalar(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

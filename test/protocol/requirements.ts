/**
 * The user's protocol contract (seed 001 "Runs", and Stepflow's stdio protocol), one
 * requirement per row, each tied to the test that proves it. requirements.test.ts
 * fails if a named test disappears, so a behaviour cannot silently lose its proof.
 */
export interface Requirement { id: string; says: string; file: string; test: string }

export const REQUIREMENTS: Requirement[] = [
  // Seed 001: runs/submit and runs/get
  { id: 'SEED-SUBMIT-WAIT', says: 'runs/submit with wait=true returns the final RunStatus with results', file: 'test/e2e/seed-runs.test.ts', test: 'submit with wait: true returns the final status with results by index' },
  { id: 'SEED-SUBMIT-NOWAIT', says: 'runs/submit with wait=false returns at once, status running', file: 'test/e2e/seed-runs.test.ts', test: 'submit with wait: false returns at once, running, without results' },
  { id: 'SEED-GET-WAIT', says: 'runs/get with wait=true waits for completion and returns results when asked', file: 'test/e2e/seed-runs.test.ts', test: 'runs/get with wait and includeResults returns the same final shape for that run' },
  { id: 'SEED-GET-NORESULTS', says: 'includeResults defaults to false', file: 'test/e2e/seed-runs.test.ts', test: 'runs/get without includeResults has no results key' },
  { id: 'SEED-RESULT-ORDER', says: 'resultOrder byIndex (default) or byCompletion', file: 'test/runtime/runs/run-manager.test.ts', test: 'orders results by index or by completion' },
  { id: 'SDK-RESULT-ORDER', says: "Stepflow's SDK sends by_index / by_completion", file: 'test/e2e/seed-runs.test.ts', test: "accepts Stepflow's snake_case resultOrder: by completion, item 1 (answered first) before item 0" },
  { id: 'SEED-OVERRIDES', says: 'overrides apply to the submitted run', file: 'test/runtime/runs/run-manager.test.ts', test: 'applies merge_patch and json_patch overrides to a step, in both accepted shapes' },
  { id: 'SEED-STATUS-FAILED', says: 'status failed when any item failed; counters per status', file: 'test/runtime/runs/run-manager.test.ts', test: 'runs every item to the end when some fail, and reports the run failed' },
  { id: 'SEED-SUBWORKFLOW', says: 'a component orchestrates sub-workflows (nested runs) without deadlock', file: 'test/runtime/runs/run-manager.test.ts', test: 'nests runs three levels deep with maxConcurrency 1 everywhere and one server process, without deadlock' },
  { id: 'RUN-UNKNOWN', says: 'unknown flowId / runId are clear JSON-RPC errors naming them', file: 'test/runtime/runs/run-manager.test.ts', test: 'rejects an unknown flow id, a blob that is not a flow, and an unknown run id with errors naming them' },
  { id: 'RUN-WAIT-TIMEOUT', says: 'a wait that times out returns the current status, not a failure', file: 'test/runtime/runs/run-manager.test.ts', test: 'returns the current status when a wait times out, without failing the run' },
  { id: 'SEED-MAX-CONCURRENCY', says: 'maxConcurrency is the number of items in flight, above or below the default window', file: 'test/regressions/12-bounded-by-default.test.ts', test: 'maxConcurrency overrides the default, above it as below it' },
  { id: 'RUN-DEFAULT-WINDOW', says: 'a run without maxConcurrency keeps 64 items in flight; the pending counter counts the rest; a cancel aborts calls without a timeout', file: 'test/regressions/12-bounded-by-default.test.ts', test: 'a run without maxConcurrency keeps ${DEFAULT_MAX_CONCURRENCY} items in flight, and a cancel aborts calls that have no timeout' },
  { id: 'SEED-GET-WAIT-DEFAULT', says: 'runs/get without wait answers at once while the run is still running', file: 'test/e2e/seed-runs.test.ts', test: 'runs/get without wait (the default) answers at once while the run is still running' },
  { id: 'SEED-OVERRIDES-WIRE', says: 'overrides and flowLabel sent over the wire apply to the sub-run (RunStatus.flowLabel)', file: 'test/regressions/12-seed-wording.test.ts', test: 'overrides and flowLabel sent by a component apply to its sub-run' },
  { id: 'SEED-OBSERVABILITY', says: 'runs/submit accepts observability (or null); the sub-run hangs under the step weft serves', file: 'test/regressions/12-seed-wording.test.ts', test: 'observability sent with runs/submit is accepted (null too); the sub-run hangs under the step weft serves' },
  { id: 'SEED-PARAMS-SCHEMA', says: 'runs/submit params are checked once, against schemas/protocol.json', file: 'test/regressions/12-seed-wording.test.ts', test: 'params are refused by the schema, one message, whoever submits: maxConcurrency 0, a flowId that is no blob id' },
  { id: 'RUN-SUBFLOW-KEY', says: 'subflowKey under one parent returns the existing run', file: 'test/runtime/runs/run-manager.test.ts', test: 'returns the existing sub-run for a repeated subflowKey under the same parent' },
  // Stepflow stdio protocol
  { id: 'WIRE-NDJSON', says: 'one compact JSON object per line', file: 'test/protocol/ndjson-writer.test.ts', test: 'writes one compact JSON object per line' },
  { id: 'WIRE-PARAMS', says: 'params always sent ({} when empty)', file: 'test/protocol/ndjson-writer.test.ts', test: 'always sends params on requests and notifications ({} when absent), never on responses' },
  { id: 'WIRE-GARBAGE', says: 'a non-JSON stdout line is logged and counted, not fatal', file: 'test/runtime/plugins/stdio-plugin.test.ts', test: 'logs and counts a non-JSON stdout line; the call still succeeds' },
  { id: 'INIT-HANDSHAKE', says: 'initialize {runtime_protocol_version: 1} then initialized {}', file: 'test/runtime/plugins/stdio-plugin.test.ts', test: 'shakes hands: initialize, then initialized with params {}' },
  { id: 'INIT-VERSION', says: 'a version mismatch names plugin, command and both versions', file: 'test/runtime/plugins/stdio-plugin.test.ts', test: 'refuses a server that speaks another protocol version, naming plugin, command and both versions' },
  { id: 'EXEC-FIELDS', says: 'components/execute carries component, input, attempt, observability', file: 'test/runtime/plugins/stdio-plugin.test.ts', test: 'executes with component, input, attempt and observability' },
  { id: 'EXEC-CONCURRENT', says: 'many requests in flight on one process', file: 'test/runtime/plugins/stdio-plugin.test.ts', test: 'keeps 50 requests in flight on one process' },
  { id: 'BLOB-ROUNDTRIP', says: 'blobs/put + blobs/get from a component, deduplicated', file: 'test/runtime/plugins/stdio-plugin.test.ts', test: 'answers blobs/put and blobs/get from a component through the RuntimeContext (deduplicated)' },
  { id: 'BLOB-UNKNOWN', says: 'blobs/get of an unknown id is an error naming it', file: 'test/runtime/plugins/stdio-plugin.test.ts', test: 'answers blobs/get of an unknown id with an error naming the id' },
  { id: 'BLOB-ID', says: 'blob id = sha256: + SHA-256 of canonical JSON, same for any key order', file: 'test/protocol/blob-id.test.ts', test: 'gives the same id for the same value in any key order, a different id for a different value' },
  { id: 'CRASH-RETRY', says: 'a crash restarts the server and retries the step with attempt + 1', file: 'test/runtime/plugins/stdio-plugin.test.ts', test: 'retries a crashed step with attempt + 1: the server sees attempt 2' },
  { id: 'TIMEOUT', says: 'a call longer than the timeout fails with TIMEOUT', file: 'test/runtime/plugins/stdio-plugin.test.ts', test: 'fails a call that outlives timeoutSecs with TIMEOUT and sends $/cancelRequest' },
  { id: 'NO-ORPHANS', says: 'no child process outlives the runtime', file: 'test/runtime/plugins/stdio-plugin.test.ts', test: "leaves no child alive after close(), even one that ignores stdin EOF and SIGTERM" },
  { id: 'ERROR-CODES', says: 'error codes in one table, unique', file: 'test/protocol/error-codes.test.ts', test: 'gives every name in ErrorCodes a distinct integer value' },
  { id: 'SCHEMA-DRIFT', says: 'every method has params/result schemas', file: 'test/protocol/schema-drift.test.ts', test: 'covers every method declared in protocol/methods' },
];

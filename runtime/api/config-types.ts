/** A validated weft.config.yml / stepflow-config.yml (schemas/config.json), paths made absolute. */
export interface WeftConfig {
  /** Absolute. Base for plugin commands, their cwd, and /builtin/load_file. */
  workingDirectory: string;
  plugins: Record<string, PluginConfig>;
  /** Pattern (`/python/{component}`, `/{*component}`) → rules tried in order. */
  routes: Record<string, RouteRule[]>;
  stateStore?: StateStoreConfig;
  limits?: RuntimeLimits;
  /** weft: tracing export (the OTEL_* variables configure the same and win). */
  observability?: ObservabilityConfig;
  /** weft: sharing the work with other processes on a PostgreSQL store. */
  cluster?: ClusterConfig;
  /** The file it came from (undefined for the built-in default). */
  source?: string;
  /**
   * false: a run input that breaks the flow's `schemas.input` is a warning (once per run)
   * and the item runs, as in Stepflow, which does not validate; default true (INVALID_INPUT).
   */
  validateInput?: boolean;
}

export type PluginConfig = BuiltinPluginConfig | StdioPluginConfig | MockPluginConfig | UnavailablePluginConfig;

/** A plugin the config names but weft cannot run (Stepflow's `mcp`, `transport: http`, ...): why, for its report. */
export interface UnavailablePluginConfig { type: 'unavailable'; reason: string }

export interface BuiltinPluginConfig { type: 'builtin' }

export interface StdioPluginConfig {
  type: 'stepflow';
  transport: 'stdio';
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** weft: processes of this server, requests spread over them (default 1). */
  instances?: number;
  /** weft: per-call timeout for components/execute (default: none, a call may take as long as it needs). */
  timeoutSecs?: number;
  /** weft: how long the server may take to answer initialize (default 60). */
  handshakeTimeoutSecs?: number;
  /** weft: `ndjson` (default, Stepflow's) or LSP `content-length`. */
  framing?: 'ndjson' | 'content-length';
  /** weft: `creator`: runs whose steps use this server stay on the process that submitted them (host-local side effects). */
  affinity?: 'creator';
}

/** Stepflow's test double: `behaviors` maps an input value to a FlowResult (or `{error}`). */
export interface MockPluginConfig {
  type: 'mock';
  components: Record<string, { input_schema?: unknown; output_schema?: unknown; behaviors?: MockBehavior[] }>;
}
/** The YAML complex-key map flattened to pairs, compared by JSON value. */
export interface MockBehavior { input: unknown; output: unknown }

export interface RouteRule {
  plugin: string;
  conditions?: { path: string; value: unknown }[];
  componentAllow?: string[];
  componentDeny?: string[];
  component?: string;
}

export interface StateStoreConfig {
  /** `sqlite` (default: .weft/weft.db), `memory` (Stepflow's `inMemory` accepted) or `postgres`. */
  type: 'sqlite' | 'memory' | 'inMemory' | 'postgres';
  /** SQLite file path (Stepflow's `databaseUrl: sqlite:path?mode=rwc` accepted). */
  path?: string;
  /** PostgreSQL: postgres://user:password@host:5432/database (`databaseUrl` is accepted too). */
  url?: string;
  databaseUrl?: string;
  /** `full` (default): fsync every group commit, survives a power cut; `normal`: survives a process crash only. */
  durability?: 'full' | 'normal';
}

export interface RuntimeLimits {
  /** runs/submit nesting depth before a clear error (default 16). */
  maxNestingDepth?: number;
  /** Transport retries per step execution (crash, broken pipe) (default 3). */
  transportRetries?: number;
  /** Deepest array/object nesting in HTTP bodies, flow files, component outputs and callbacks (default 256). */
  maxJsonDepth?: number;
  /** Streamed output (issue 17): bytes of one chunk (default 1 MiB). */
  maxChunkBytes?: number;
  /** Streamed chunks of one attempt of one step (default 100,000). */
  maxChunksPerStep?: number;
  /** Bytes of all streamed chunks of one run (default 256 MiB). */
  maxStreamBytesPerRun?: number;
  /** Largest message line from a component server: one output or callback (default 64 MiB). */
  maxMessageBytes?: number;
}

export interface ObservabilityConfig {
  /** OTLP/HTTP base URL of a collector (spans go to `<url>/v1/traces`). */
  otlpEndpoint?: string;
  serviceName?: string;
}

/** weft: one process's part in a cluster (several processes on one PostgreSQL store). */
export interface ClusterConfig { capacity?: number; leaseTtlSecs?: number; heartbeatSecs?: number; pollSecs?: number }

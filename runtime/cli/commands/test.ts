import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { dirname, join, relative, resolve } from 'node:path';
import type { FlowResult, FlowTestCase, WireFlowResult } from '../../../protocol/index.js';
import { FLOW_SCHEMA_URL } from '../../../protocol/index.js';
import { Runtime } from '../../api/runtime.js';
import { configFromObject, resolveConfig } from '../../api/load-config.js';
import type { WeftConfig } from '../../api/config-types.js';
import { loadFlowFile, formatDiagnostics } from '../../flow/load-flow.js';
import { matchTestCase } from '../../flow/test-cases.js';
import { EXIT, UsageError } from '../usage-error.js';
import type { CliIo } from '../print-status.js';

const TEST_CONFIG_NAMES = ['stepflow-config.test.yml', 'stepflow-config.test.yaml', 'stepflow_config.test.yml', 'stepflow_config.test.yaml', 'weft.config.test.yml', 'weft.config.test.yaml'];

/**
 * `weft test FLOW|DIR...`: runs every flow's `test.cases` (one single-item run per
 * case, in memory), prints a line per case and, last, exactly `N passed, N failed`.
 */
export async function testCommand(paths: string[], opts: { config?: string; case?: string[] }, io: CliIo): Promise<number> {
  const files = paths.flatMap((p) => flowFiles(resolve(p)));
  if (files.length === 0) throw new UsageError(`no flow files found in ${paths.join(', ')}`);
  let passed = 0; let failed = 0;
  const caseNames = new Set<string>();
  for (const file of files) {
    const name = relative(process.cwd(), file) || file;
    const kind = flowFileKind(file);
    // Stepflow's runner skips files that are not flows too; each says so once.
    if ('skip' in kind) { io.stdout.write(`- ${name}: skipped (not a flow: ${kind.skip})\n`); continue; }
    if ('error' in kind) {
      io.stdout.write(`✗ ${name}: ${kind.error}\n`);
      failed++;
      continue;
    }
    const loaded = await loadFlowFile(file);
    const raw = loaded.flow?.flow;
    const all = raw?.test?.cases ?? [];
    for (const c of all) caseNames.add(c.name);
    const cases = all.filter((c) => !opts.case || opts.case.includes(c.name));
    if (!raw) {
      io.stdout.write(`✗ ${name}: invalid flow\n${indent(formatDiagnostics(loaded.diagnostics.filter((d) => d.level !== 'warning'), name))}\n`);
      failed++;
      continue;
    }
    if (cases.length === 0) {
      if (all.length === 0) io.stdout.write(`- ${name}: skipped (no test cases)\n`);
      continue;
    }
    let rt: Runtime;
    try {
      rt = await Runtime.open({ config: configFor(file, raw.test?.config, opts.config), store: 'memory', cwd: dirname(file), resume: false });
    } catch (error) {
      for (const c of cases) io.stdout.write(`✗ ${name} > ${c.name}: ${(error as Error).message}\n`);
      failed += cases.length;
      continue;
    }
    try {
      const flowId = await rt.putFlow(raw, { directory: dirname(file) });
      for (const c of cases) {
        const outcome = await runCase(rt, flowId, c);
        if (outcome.pass) { passed++; io.stdout.write(`✓ ${name} > ${c.name}\n`); }
        else { failed++; io.stdout.write(`✗ ${name} > ${c.name}\n${indent(outcome.message)}\n`); }
      }
    } finally {
      await rt.close();
    }
  }
  const unknown = (opts.case ?? []).filter((n) => !caseNames.has(n));
  if (unknown.length > 0) {
    throw new UsageError(`--case ${unknown.map((n) => `"${n}"`).join(', ')} matches no test case; the cases are: ${caseNames.size ? [...caseNames].join(', ') : '(none)'}`);
  }
  io.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed === 0 ? EXIT.ok : EXIT.failed;
}

async function runCase(rt: Runtime, flowId: string, c: FlowTestCase): Promise<{ pass: true } | { pass: false; message: string }> {
  const status = await rt.run(flowId, [c.input]);
  const item = status.results?.[0]?.result;
  if (!item) return { pass: false, message: `the run ended ${status.status} without an item result` };
  const actual = fromWire(item);
  if (!c.output) return { pass: false, message: `no expected output; actual:\n${JSON.stringify(actual, null, 2)}` };
  const stepResults = new Map<string, FlowResult>();
  for (const s of await rt.store.state.listSteps(status.runId, 0)) if (s.result) stepResults.set(s.stepId, s.result);
  return matchTestCase(c.output, actual, { stepResults });
}

function fromWire(r: WireFlowResult): FlowResult {
  return r.outcome === 'success' ? { outcome: 'success', result: r.result } : { outcome: 'failed', error: r.error };
}

/** --config → the flow's inline `test.config` → a *.test.yml config beside it → normal discovery. */
function configFor(file: string, inline: unknown, explicit: string | undefined): WeftConfig {
  if (explicit) return resolveConfig({ config: explicit });
  const dir = dirname(file);
  if (inline && typeof inline === 'object') return configFromObject(inline, `${file} (test.config)`, dir);
  const testConfig = TEST_CONFIG_NAMES.map((n) => join(dir, n)).find((p) => existsSync(p));
  if (testConfig) return resolveConfig({ config: testConfig });
  return resolveConfig({ flowPath: file });
}

function flowFiles(path: string): string[] {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file or directory`);
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  for (const entry of readdirSync(path).sort()) {
    const full = join(path, entry);
    if (statSync(full).isDirectory()) { if (entry !== 'node_modules' && !entry.startsWith('.')) out.push(...flowFiles(full)); }
    else if (/\.(ya?ml|json)$/.test(entry) && !/config/.test(entry)) out.push(full);
  }
  return out;
}

/**
 * A flow (the flow `schema` key, or `steps` beside no Kubernetes `kind`: loaded, so an
 * invalid one fails), a file to skip and why, or one that does not parse (reported,
 * never skipped silently).
 */
export function flowFileKind(file: string): { flow: true } | { skip: string } | { error: string } {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const broken = (Array.isArray(docs) ? docs : [docs]).find((d) => d.errors.length > 0);
  if (broken) return { error: `not valid YAML/JSON: ${broken.errors[0].message.split('\n')[0]}` };
  if (!Array.isArray(docs) || docs.length === 0) return { skip: 'empty file' };
  if (docs.length > 1) return { skip: `${docs.length} YAML documents` };
  const value: unknown = docs[0].toJS();
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { skip: 'not a mapping' };
  const o = value as Record<string, unknown>;
  if (o.schema === FLOW_SCHEMA_URL) return { flow: true };
  if (typeof o.kind === 'string' && typeof o.apiVersion === 'string') return { skip: `a Kubernetes ${o.kind} manifest` };
  if ('steps' in o) return { flow: true };
  return { skip: 'no flow `schema` key and no `steps`' };
}

const indent = (s: string) => s.split('\n').map((l) => `    ${l}`).join('\n');

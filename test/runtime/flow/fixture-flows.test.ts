import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { FlowResult } from '../../../protocol/index.js';
import { formatDiagnostics, loadFlowFile } from '../../../runtime/flow/load-flow.js';
import { matchTestCase } from '../../../runtime/flow/test-cases.js';
import type { PluginRouter } from '../../../runtime/plugins/plugin-router.js';
import { loadFixtureRouter } from '../../helpers/load-fixture-router.js';
import { runTestItem } from '../../helpers/run-test-item.js';
import { StaticRouter } from '../../helpers/static-router.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/flows');
const FLOWS = ['empty/empty_flow.yaml', 'mock/basic.yaml', 'mock/error_use_default_value.yaml', 'mock/lazy_evaluation.yaml'];

function routerFor(flowPath: string): PluginRouter {
  const config = join(dirname(flowPath), 'stepflow-config.yml');
  return existsSync(config) ? loadFixtureRouter(config) : new StaticRouter({});
}

// The example flows of flows.md §11.2–11.5, verbatim, run case by case through the executor and matcher.
describe.each(FLOWS)('fixture flow %s', (name) => {
  const path = join(ROOT, name);

  it('is present verbatim with its config', () => {
    expect(readdirSync(dirname(path))).toContain('stepflow-config.yml');
  });

  it('passes all its test cases', async () => {
    const router = routerFor(path);
    const loaded = await loadFlowFile(path, { router });
    expect(loaded.diagnostics.filter((d) => d.level !== 'warning'), formatDiagnostics(loaded.diagnostics, name)).toEqual([]);
    const flow = loaded.flow!;
    const cases = flow.flow.test?.cases ?? [];
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      const stepResults = new Map<string, FlowResult>();
      const actual = await runTestItem(flow, c.input, router, {
        journal: { stepStarted: () => {}, stepFinished: (id, _attempt, r) => { stepResults.set(id, r); } },
      });
      const match = matchTestCase(c.output, actual, { stepResults });
      expect(match.pass ? 'pass' : `${c.name}: ${match.message}`).toBe('pass');
    }
  });
});

it('lazy_evaluation never executes the step on the untaken branch', async () => {
  const path = join(ROOT, 'mock/lazy_evaluation.yaml');
  const router = routerFor(path);
  const flow = (await loadFlowFile(path, { router })).flow!;
  const executed: string[] = [];
  const result = await runTestItem(flow, { use_success: true }, router, {
    journal: { stepStarted: (id) => { executed.push(id); }, stepFinished: () => {} },
  });
  expect(result).toEqual({ outcome: 'success', result: { result: 'succeeded' } });
  expect(executed).toEqual(['success_step']);
});

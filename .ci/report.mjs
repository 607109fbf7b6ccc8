// Prints CI's closing line from vitest's JSON report ("N passed, N failed") and fails when a
// test was skipped or left to do: under CI a skip would hide a test that never ran.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const skipped = report.testResults.flatMap((file) => file.assertionResults
  .filter((t) => t.status !== 'passed' && t.status !== 'failed')
  .map((t) => `${file.name}: ${t.fullName} (${t.status})`));
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped.length ? `, ${skipped.length} skipped` : ''}`);
if (skipped.length > 0) {
  console.error(`error: under CI no test may skip:\n  ${skipped.join('\n  ')}`);
  process.exit(1);
}

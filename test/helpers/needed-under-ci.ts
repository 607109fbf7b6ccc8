/**
 * Whether a test's dependency (a browser, strace, ...) is here. Locally a missing one is a
 * skip with its reason; under CI=true it is an error, so CI never passes by skipping a test
 * (.ci/run installs what these need, and fails the build on any skip left).
 */
export function neededUnderCi<T>(found: T | undefined | false, missing: string): T | undefined {
  if (found) return found;
  if (process.env.CI === 'true') throw new Error(`CI=true: ${missing}; under CI this test must run (.ci/run installs it)`);
  return undefined;
}

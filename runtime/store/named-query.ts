import type pg from 'pg';

/**
 * A statement of the hot path, prepared once per connection under its name: parsed and
 * planned once, not at every commit (for these CTEs planning costs about as much as running).
 */
export function named(name: string, text: string, values: unknown[]): pg.QueryConfig {
  return { name, text, values };
}

/**
 * --exclude-table-data patterns against the source's tables: a pattern that names no table is an error
 * (one line, with a did-you-mean), never a silently ignored filter.
 */
import { describe, expect, it } from 'vitest';

import { tablesWithData } from '../../../src/backups/toc.js';
import { ConfigError } from '../../../src/errors.js';
import { assertPatternsMatch, suggestTable, unmatchedPatterns } from '../../../src/pull/table-patterns.js';
import { closestName, editDistance } from '../../../src/suggest.js';

const tables = [
  { schema: 'public', name: 'accounts' },
  { schema: 'public', name: 'events' },
  { schema: 'audit', name: 'events' },
  { schema: 'billing', name: 'invoices' },
].map((t) => ({ candidates: [t] }));

function refusal(patterns: string[], where = 'the source database'): ConfigError {
  try {
    assertPatternsMatch('--exclude-table-data', patterns, tables, where);
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('no error');
}

describe('unmatchedPatterns', () => {
  it('keeps the patterns that name no table: names, schema.name, and * patterns', () => {
    expect(unmatchedPatterns(['accounts', 'acounts', 'audit.events', 'audit.accounts', 'inv*', 'billing.*', 'x*', '*.nothing'], tables)).toEqual([
      'acounts',
      'audit.accounts',
      'x*',
      '*.nothing',
    ]);
  });

  it('is case-sensitive, as the filter itself is', () => {
    expect(unmatchedPatterns(['Accounts'], tables)).toEqual(['Accounts']);
  });

  it("counts any reading of a backup's ambiguous label (a name with spaces)", () => {
    const toc = tablesWithData('1; 0 1 TABLE DATA app order items postgres');
    expect(unmatchedPatterns(['order items', 'items', 'app order.items', 'app.order items', 'orders'], toc)).toEqual(['orders']);
  });
});

describe('suggestTable', () => {
  it('suggests the closest name in the form the pattern used', () => {
    expect(suggestTable('acounts', tables)).toBe('accounts');
    expect(suggestTable('public.acounts', tables)).toBe('public.accounts');
    expect(suggestTable('Accounts', tables)).toBe('accounts');
    expect(suggestTable('invoice', tables)).toBe('invoices');
  });

  it('crosses forms when the other form is nearer (a schema typed without its dot)', () => {
    expect(suggestTable('billinginvoices', tables)).toBe('billing.invoices');
  });

  it('suggests nothing far away, and nothing for * patterns', () => {
    expect(suggestTable('customers_archive', tables)).toBeUndefined();
    expect(suggestTable('acount*', tables)).toBeUndefined();
  });
});

describe('assertPatternsMatch', () => {
  it('passes when every pattern names a table', () => {
    expect(() => assertPatternsMatch('--exclude-table-data', ['accounts', 'audit.*', '*vent*'], tables, 'production')).not.toThrow();
    expect(() => assertPatternsMatch('--exclude-table-data', [], [], 'production')).not.toThrow();
  });

  it('refuses in one line naming every unmatched pattern, with a did-you-mean where there is one', () => {
    const error = refusal(['acounts', 'events', 'nomatch_*'], 'backup b012 of my-app');
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe('--exclude-table-data "acounts" (did you mean "accounts"?), "nomatch_*": they name no table of backup b012 of my-app');
    expect(error.message).not.toContain('\n');
    expect(error.hint).toMatch(/nothing was changed/);
    expect(refusal(['evnts']).message).toBe('--exclude-table-data "evnts" (did you mean "events"?): it names no table of the source database');
  });
});

describe('closestName', () => {
  it('measures edits, and only suggests a near name', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(closestName('requre-concurrent-index', ['require-concurrent-index', 'ban-drop-column'])).toBe('require-concurrent-index');
    expect(closestName('zzzzzz', ['require-concurrent-index'])).toBeUndefined();
  });
});

describe('a pattern naming a table with no rows of its own (a partitioned table in a backup)', () => {
  const t = (schema: string, name: string) => ({ candidates: [{ schema, name }] });
  it('says so and how to name its partitions, instead of a did-you-mean', () => {
    const withRows = [t('public', 'measurements_2025'), t('public', 'accounts')];
    const rowless = [t('public', 'measurements')];
    expect(() => assertPatternsMatch('--exclude-table-data', ['measurements'], withRows, 'backup b001 of app', rowless)).toThrow(
      /"measurements" \(a table with no rows of its own, such as a partitioned table: name its partitions, for example "measurements_\*"\): it names no table of backup b001 of app/,
    );
    // Without the rowless list, the nearest name is suggested as before.
    expect(() => assertPatternsMatch('--exclude-table-data', ['acounts'], withRows, 'backup b001 of app', rowless)).toThrow(/did you mean "accounts"/);
  });
});

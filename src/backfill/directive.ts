/**
 * A backfill as its own migration. A migration whose up (or down) section is marked
 * `transaction:false` and holds one line
 *
 *   -- drydock:backfill users --set "email_lower = lower(email)" --where "email_lower IS NULL" --batch-time 200ms
 *
 * and no other statement is run by the migration runner with the same engine as `drydock backfill`:
 * keyset batches, each its own short transaction, resumable, throttled. The line is a SQL comment, so
 * other tools (psql, dbmate) see a migration that does nothing, never an unbatched UPDATE. Pure.
 */
import { ConfigError } from '../errors.js';
import type { BackfillFlags } from '../settings.js';
import type { BackfillChange } from './spec.js';

/** The marker, at the very start of a line. */
export const DIRECTIVE = /^--\s*drydock:backfill\b(.*)$/;

/** A directive line found in a section's SQL. */
export interface DirectiveLine {
  /** 1-based line within the text. */
  line: number;
  /** The words after the marker. */
  args: string;
  /** String index of the line's start and end in the text. */
  start: number;
  end: number;
}

/** Every `-- drydock:backfill` line of `sql`. */
export function findBackfillDirectives(sql: string): DirectiveLine[] {
  const found: DirectiveLine[] = [];
  let start = 0;
  for (let line = 1; start <= sql.length; line++) {
    const eol = sql.indexOf('\n', start);
    const end = eol === -1 ? sql.length : eol;
    const m = DIRECTIVE.exec(sql.slice(start, end).replace(/\r$/, ''));
    if (m) found.push({ line, args: m[1]!.trim(), start, end });
    if (eol === -1) break;
    start = eol + 1;
  }
  return found;
}

/** Split a command line the way a POSIX shell would for quoted words: "…" (with \" and \\) and '…'. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '"' || c === "'") {
      word ??= '';
      const close = c;
      let j = i + 1;
      for (; j < text.length && text[j] !== close; j++) {
        if (close === '"' && text[j] === '\\' && (text[j + 1] === '"' || text[j + 1] === '\\')) j++;
        word += text[j];
      }
      if (j >= text.length) throw new ConfigError(`unterminated ${close === '"' ? 'double' : 'single'} quote in: ${text.slice(0, 80)}`, { hint: 'close the quote; put SQL with single quotes inside double quotes: --set "status = \'active\'"' });
      i = j;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The options a directive takes, and the BackfillFlags field (or change field) each one fills. */
const OPTIONS: Record<string, keyof BackfillFlags | 'set' | 'where'> = {
  '--set': 'set',
  '--where': 'where',
  '--batch-size': 'batchSize',
  '--batch-time': 'batchTime',
  '--sleep': 'sleep',
  '--max-wal-rate': 'maxWalRate',
  '--lock-timeout': 'lockTimeout',
  '--statement-timeout': 'statementTimeout',
  '--lock-retries': 'lockRetries',
};

/** A directive's table, change and pacing flags; ConfigError on an unknown option, a missing value or a missing table or --set. */
export function parseBackfillDirective(args: string): { change: BackfillChange; flags: BackfillFlags } {
  const words = splitWords(args);
  const usage = 'write it as -- drydock:backfill TABLE --set "col = expr" [--where SQL] [--batch-time 200ms | --batch-size N] [--sleep 100ms] [--max-wal-rate 20MB/s]';
  let table: string | undefined;
  const values: Partial<Record<keyof BackfillFlags | 'set' | 'where', string>> = {};
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const name = eq > 0 ? word.slice(0, eq) : word;
    if (name.startsWith('--')) {
      const key = OPTIONS[name];
      if (!key) throw new ConfigError(`unknown option ${name} in a -- drydock:backfill line`, { hint: `the options are ${Object.keys(OPTIONS).join(', ')}` });
      const value = eq > 0 ? word.slice(eq + 1) : words[++i];
      if (value === undefined) throw new ConfigError(`${name} needs a value in a -- drydock:backfill line`, { hint: usage });
      if (values[key] !== undefined) throw new ConfigError(`${name} is given twice in a -- drydock:backfill line`, { hint: usage });
      values[key] = value;
    } else if (table === undefined) {
      table = word;
    } else {
      throw new ConfigError(`unexpected "${word}" in a -- drydock:backfill line: the table is ${table}`, { hint: usage });
    }
  }
  if (table === undefined) throw new ConfigError('a -- drydock:backfill line names no table', { hint: usage });
  if (values.set === undefined) throw new ConfigError(`the -- drydock:backfill line of ${table} has no --set`, { hint: usage });
  const { set, where, ...flags } = values;
  return { change: { table, set, where }, flags };
}

/** True when a section has no statements and no `-- drydock:backfill` line either: nothing to run. */
export function isEmptySection(sql: string, isBlank: (sql: string) => boolean): boolean {
  return isBlank(sql) && findBackfillDirectives(sql).length === 0;
}

/**
 * One rule for every duration flag and variable (a unit is required; only 0 may go without), and one
 * formatter for every duration and age drydock prints.
 */
import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/errors.js';
import { errorOf } from '../helpers/throws.js';
import { formatAge, formatDuration } from '../../src/format.js';
import { resolveConnectTimeout, resolveGlobalSettings, resolveMigrateSettings, resolvePullOptions, resolveTransferTimeout } from '../../src/settings.js';

const URL = 'postgres://u@h/db';
const global = { lockRetryBaseMs: undefined, libpq: {} };

/** Every duration setting, resolved from one text value, from the flag or from its variable. */
const SETTINGS: Array<{ name: string; resolve: (value: string) => number | undefined }> = [
  { name: '--lock-timeout', resolve: (v) => resolveMigrateSettings({ url: URL, lockTimeout: v }, {}, global).runner.lockTimeoutMs },
  { name: 'DRYDOCK_LOCK_TIMEOUT', resolve: (v) => resolveMigrateSettings({ url: URL, lockTimeout: v }, {}, global, { sources: () => 'env' }).runner.lockTimeoutMs },
  { name: '--statement-timeout', resolve: (v) => resolveMigrateSettings({ url: URL, statementTimeout: v }, {}, global).runner.statementTimeoutMs },
  { name: 'DRYDOCK_STATEMENT_TIMEOUT', resolve: (v) => resolveMigrateSettings({ url: URL, statementTimeout: v }, {}, global, { sources: () => 'env' }).runner.statementTimeoutMs },
  { name: '--connect-timeout', resolve: (v) => resolveConnectTimeout(v) },
  { name: 'DRYDOCK_CONNECT_TIMEOUT', resolve: (v) => resolveConnectTimeout(v, 'env') },
  { name: '--transfer-timeout', resolve: (v) => resolveTransferTimeout(v) },
  { name: 'DRYDOCK_TRANSFER_TIMEOUT', resolve: (v) => resolveTransferTimeout(v, 'env') },
  {
    name: '--max-age',
    resolve: (v) => {
      const source = resolvePullOptions({ from: 'backup', to: 'x_dev', maxAge: v, local: URL }, 'my-app', { libpq: {}, spares: false }).source;
      return source.kind === 'backup' ? source.maxAgeMs : undefined;
    },
  },
  { name: 'DRYDOCK_LOCK_RETRY_BASE', resolve: (v) => resolveGlobalSettings({}, { DRYDOCK_LOCK_RETRY_BASE: v }).lockRetryBaseMs },
];

const configError = (fn: () => unknown): ConfigError => errorOf(ConfigError, fn);

describe('duration settings: one rule', () => {
  it('a bare number is refused by every duration flag and variable, naming it, with a hint that has a unit', () => {
    for (const { name, resolve } of SETTINGS) {
      for (const bare of ['5', '30', '5000', '1.5']) {
        const error = configError(() => resolve(bare));
        expect(error.message, `${name} ${bare}`).toBe(`${name} needs a unit: "${bare}" could be milliseconds, seconds or hours`);
        const example = name.startsWith('--') ? `${name} ` : `${name}=`;
        expect(error.hint).toContain(`for example ${example}`);
        // The example is a value the setting accepts, with a unit (not "5ms" for a lock timeout).
        const suggested = error.hint!.slice(error.hint!.lastIndexOf(example) + example.length);
        expect(suggested).toMatch(/^\d+(ms|s|min|h|d)$/);
        expect(resolve(suggested)).toBeGreaterThan(0);
      }
    }
    // The old hint suggested "--lock-timeout 5ms" (its default unit): the example is the default, 5s.
    expect(configError(() => SETTINGS[0]!.resolve('5')).hint).toMatch(/for example --lock-timeout 5s$/);
  });

  it('the same text means the same duration everywhere', () => {
    const table: Array<[string, number]> = [
      ['90s', 90_000],
      ['2min', 120_000],
      ['2m', 120_000],
      ['2MIN', 120_000],
      ['1.5h', 5_400_000],
      ['1d', 86_400_000],
      ['1500ms', 1_500],
    ];
    for (const { name, resolve } of SETTINGS) {
      for (const [text, ms] of table) {
        if (name.includes('MAX_AGE') || name === '--max-age' ? ms < 60_000 : false) continue;
        let got: number | undefined;
        try {
          got = resolve(text);
        } catch (error) {
          // Out of this setting's range is fine; a different reading of the same text is not.
          expect((error as ConfigError).message, `${name} ${text}`).toMatch(/ must be from /);
          continue;
        }
        expect(got, `${name} ${text}`).toBe(ms);
      }
    }
  });

  it('0 needs no unit where 0 is allowed', () => {
    expect(resolveMigrateSettings({ url: URL, lockTimeout: '0', statementTimeout: '0' }, {}, global).runner).toMatchObject({ lockTimeoutMs: 0, statementTimeoutMs: 0 });
    expect(resolveConnectTimeout('0')).toBe(0);
    expect(configError(() => resolveTransferTimeout('0')).message).toMatch(/^--transfer-timeout must be from 1s to 30d, not "0"/);
  });

  it('text that is not a duration says which unit forms exist', () => {
    const error = configError(() => resolveTransferTimeout('5 minutes', 'env'));
    expect(error.message).toBe('DRYDOCK_TRANSFER_TIMEOUT must be a duration with a unit (500ms, 5s, 4min (or 4m), 2h, 7d), not "5 minutes"');
    expect(error.hint).toBe('for example DRYDOCK_TRANSFER_TIMEOUT=2h');
  });
});

describe('formatDuration and formatAge: the unit that fits', () => {
  it('prints each magnitude in its own unit', () => {
    const table: Array<[number, string]> = [
      [0, '0 ms'],
      [12, '12 ms'],
      [999, '999 ms'],
      [1_000, '1 s'],
      [1_449, '1.4 s'],
      [9_960, '10 s'],
      [45_000, '45 s'],
      [59_700, '1 min'],
      [240_000, '4 min'],
      [270_000, '4.5 min'],
      [3_540_000, '59 min'],
      [3_599_000, '1 h'],
      [9_000_000, '2.5 h'],
      [30 * 3_600_000, '30 h'],
      [47.9 * 3_600_000, '2 d'],
      [3 * 86_400_000, '3 d'],
      [3.25 * 86_400_000, '3.3 d'],
      [40 * 86_400_000, '40 d'],
    ];
    for (const [ms, text] of table) expect(formatDuration(ms), String(ms)).toBe(text);
  });

  it('ages in hours use the same formatter', () => {
    expect(formatAge(undefined)).toBe('?');
    expect(formatAge(45 / 3600)).toBe('45 s');
    expect(formatAge(4 / 60)).toBe('4 min');
    expect(formatAge(2.5)).toBe('2.5 h');
    expect(formatAge(72)).toBe('3 d');
    expect(formatAge(-0.01)).toBe('0 s'); // clock skew: never negative, never in milliseconds
  });
});

import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/errors.js';
import { errorOf } from '../helpers/throws.js';
import {
  PG_MAX_TIMEOUT_MS,
  resolveConnectTimeout,
  resolveMigrateSettings,
  resolvePullOptions,
  resolveTransferTimeout,
  validateProjectConfig,
} from '../../src/settings.js';

const global = { lockRetryBaseMs: undefined, libpq: {} };
const URL = 'postgres://u@h/db';

const configError = (fn: () => unknown): ConfigError => errorOf(ConfigError, fn);

describe('duration limits', () => {
  it('--transfer-timeout: 0 (wait forever) and more than 30 days are usage errors naming the flag', () => {
    expect(configError(() => resolveTransferTimeout('0')).message).toMatch(/^--transfer-timeout must be from 1s to 30d, not "0"/);
    expect(configError(() => resolveTransferTimeout('31d')).message).toMatch(/^--transfer-timeout must be from 1s to 30d/);
    expect(configError(() => resolveTransferTimeout('0', 'env')).message).toMatch(/^DRYDOCK_TRANSFER_TIMEOUT /);
    expect(resolveTransferTimeout('30d')).toBe(30 * 86_400_000);
  });

  it('--lock-timeout and --statement-timeout: at most what PostgreSQL accepts (INT_MAX ms); 0 turns them off', () => {
    for (const flag of ['lockTimeout', 'statementTimeout'] as const) {
      const name = flag === 'lockTimeout' ? '--lock-timeout' : '--statement-timeout';
      for (const bad of ['99999999999999999999ms', '25d', `${PG_MAX_TIMEOUT_MS + 1}ms`, `${'1'.repeat(400)}ms`]) {
        const error = configError(() => resolveMigrateSettings({ url: URL, [flag]: bad }, {}, global));
        expect(error.message).toMatch(new RegExp(`^${name} must be from 0 to 2147483647ms`));
        expect(error.hint).toMatch(/0 turns it off/);
      }
      expect(resolveMigrateSettings({ url: URL, [flag]: `${PG_MAX_TIMEOUT_MS}ms` }, {}, global).runner[flag === 'lockTimeout' ? 'lockTimeoutMs' : 'statementTimeoutMs']).toBe(PG_MAX_TIMEOUT_MS);
      expect(resolveMigrateSettings({ url: URL, [flag]: '0' }, {}, global).runner[flag === 'lockTimeout' ? 'lockTimeoutMs' : 'statementTimeoutMs']).toBe(0);
    }
    expect(configError(() => resolveMigrateSettings({ url: URL, lockTimeout: '1e300' }, {}, global)).message).toMatch(/^--lock-timeout /);
    expect(configError(() => resolveMigrateSettings({ url: URL, statementTimeout: '1e20s' }, {}, global)).message).toMatch(/^--statement-timeout /);
  });

  it('drydock.json lockTimeoutMs and statementTimeoutMs: at most INT_MAX', () => {
    expect(() => validateProjectConfig({ lockTimeoutMs: 1e300 })).toThrow(/"lockTimeoutMs" must be at most 2147483647/);
    expect(() => validateProjectConfig({ statementTimeoutMs: 2 ** 31 })).toThrow(/"statementTimeoutMs" must be at most/);
  });

  it('--connect-timeout: from 0 (one attempt) to 1h', () => {
    expect(resolveConnectTimeout(undefined)).toBe(30_000);
    expect(resolveConnectTimeout('0')).toBe(0);
    expect(configError(() => resolveConnectTimeout('30d')).message).toMatch(/^--connect-timeout must be from 0 to 1h/);
  });

  it('--max-age: from 1 minute to 100000h', () => {
    const pull = (maxAge: string) => resolvePullOptions({ from: 'backup', to: 'x_dev', maxAge, local: URL }, 'my-app', { libpq: {}, spares: false });
    expect(configError(() => pull('0')).message).toMatch(/^--max-age must be from 1m to 100000h, not "0"/);
    expect(configError(() => pull('99999999999999999999h')).message).toMatch(/^--max-age must be/);
    expect(pull('30d').source).toMatchObject({ maxAgeMs: 30 * 86_400_000 });
  });
});

/**
 * Issue 14 item 4: drydock.json lint configuration (lintRules, lintOverrides, lintSmallTable) is
 * validated with the rest of the file and resolved into the lint and migrate settings; old configs
 * (`"lint": "warn"`) stay valid; --start-after takes the version forms of Prisma, diesel,
 * golang-migrate and Flyway.
 */
import { describe, expect, it } from 'vitest';

import { DEFAULT_SMALL_TABLE } from '../../../src/lint/settings.js';
import { parseByteSize, resolveLintSettings, resolveMigrateSettings, validateProjectConfig, type ProjectConfig } from '../../../src/settings.js';

const global = { json: false, lintPgVersion: undefined, libpq: {}, lockRetryBaseMs: undefined };

describe('drydock.json lint configuration', () => {
  it('accepts rule levels, overrides and small-table limits, and resolves them for lint and migrate', () => {
    const project = validateProjectConfig({
      lint: 'warn',
      lintRules: { 'prefer-jsonb': 'off', 'ban-drop-column': 'warn' },
      lintOverrides: [{ paths: ['migrations/2019*/**'], rules: { 'require-lock-timeout': 'off' } }],
      lintSmallTable: { rows: 500, bytes: '2MB' },
    });
    const lint = resolveLintSettings({}, project, global);
    expect(lint.lintProject.ruleConfig).toEqual({
      rules: { 'prefer-jsonb': 'off', 'ban-drop-column': 'warning' },
      overrides: [{ paths: ['migrations/2019*/**'], rules: { 'require-lock-timeout': 'off' } }],
    });
    expect(lint.lintProject.smallTable).toEqual({ rows: 500, bytes: 2 * 1024 * 1024 });
    const migrate = resolveMigrateSettings({}, project, global, { needUrl: false });
    expect(migrate.lint).toBe('warn');
    expect(migrate.lintProject).toEqual(lint.lintProject);
  });

  it('keeps old configs valid and defaults the limits', () => {
    const lint = resolveLintSettings({}, validateProjectConfig({ lint: 'error', pgVersion: 15 }), global);
    expect(lint.lintProject).toEqual({ ruleConfig: undefined, smallTable: DEFAULT_SMALL_TABLE });
  });

  it.each([
    [{ lintRules: { 'prefer-jsonb': 'loud' } }, /"lintRules": "prefer-jsonb" must be one of/],
    [{ lintRules: ['prefer-jsonb'] }, /"lintRules" must be an object/],
    [{ lintOverrides: { paths: [] } }, /"lintOverrides" must be an array/],
    [{ lintOverrides: [{ paths: [], rules: {} }] }, /"paths" must be a non-empty array/],
    [{ lintOverrides: [{ paths: ['a/**'], rules: { 'Not A Rule': 'off' } }] }, /is not a rule id/],
    [{ lintSmallTable: { rows: -1 } }, /"rows" must be a non-negative number/],
    [{ lintSmallTable: { bytes: 'lots' } }, /"bytes" must be/],
    [{ lintSmallTable: { pages: 3 } }, /unknown key "pages"/],
  ] as Array<[unknown, RegExp]>)('refuses %j', (raw, message) => {
    expect(() => validateProjectConfig(raw as ProjectConfig)).toThrow(message);
  });

  it('reads sizes with units', () => {
    expect(parseByteSize('10MB')).toBe(10 * 1024 * 1024);
    expect(parseByteSize('512 kB')).toBe(512 * 1024);
    expect(parseByteSize(4096)).toBe(4096);
    expect(parseByteSize('-1')).toBeUndefined();
  });
});

describe('--start-after', () => {
  it.each(['20260101000000', '2021-01-01-123456', 'V12', 'V1.2.3', '12', '20210101120000_init'])('takes %s', (value) => {
    expect(resolveLintSettings({ startAfter: value }, {}, global).startAfter).toBe(value);
  });

  it('refuses what is no version', () => {
    expect(() => resolveLintSettings({ startAfter: 'yesterday' }, {}, global)).toThrow(/--start-after must be a migration version/);
  });
});

import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../../src/errors.js';
import { resolveLintPgVersion } from '../../../src/pipelines/lint.js';
import { parsePgVersion, resolveLintSettings, type LintFlags } from '../../../src/settings.js';

/** Lint settings from the environment's DRYDOCK_PG_VERSION, the flags and drydock.json's pgVersion. */
const settings = (env: Record<string, string> = {}, flags: LintFlags = {}, pgVersion?: number) =>
  resolveLintSettings(flags, pgVersion === undefined ? {} : { pgVersion }, { json: false, lintPgVersion: env.DRYDOCK_PG_VERSION, libpq: {} });

describe('production Postgres version for lint', () => {
  it('parses majors as people write them, in release order', () => {
    expect(parsePgVersion('15', '--pg-version')).toBe(15);
    expect(parsePgVersion('15.4', '--pg-version')).toBe(15);
    expect(parsePgVersion('PostgreSQL 16.2', '--pg-version')).toBe(16);
    expect(parsePgVersion('9.6', '--pg-version')).toBe(9.6);
    expect(parsePgVersion(12, 'drydock.json "pgVersion"')).toBe(12);
  });

  it('rejects what is not a version', () => {
    for (const bad of ['fifteen', '', '8.4', '0']) expect(() => parsePgVersion(bad, '--pg-version')).toThrow(ConfigError);
  });

  it('accepts only the majors drydock knows: 9.6 and 10 to 18, saying so', () => {
    for (const bad of ['99', '60', '19', '59', '9.5', '9', '1e3', 99]) {
      expect(() => parsePgVersion(bad, '--pg-version')).toThrow(/^--pg-version must be a PostgreSQL major version/);
      let hint: string | undefined;
      try {
        parsePgVersion(bad, '--pg-version');
      } catch (error) {
        hint = (error as ConfigError).hint;
      }
      expect(hint).toMatch(/9\.6 and 10 to 18/);
    }
    for (const good of ['9.6', '10', '13.2', '18']) expect(() => parsePgVersion(good, '--pg-version')).not.toThrow();
  });

  it('takes the flag, then DRYDOCK_PG_VERSION, then drydock.json, then 15', async () => {
    expect(await resolveLintPgVersion(settings({ DRYDOCK_PG_VERSION: '13' }, { pgVersion: '11' }, 12))).toBe(11);
    expect(await resolveLintPgVersion(settings({ DRYDOCK_PG_VERSION: '13' }, {}, 12))).toBe(13);
    expect(await resolveLintPgVersion(settings({}, {}, 12))).toBe(12);
    expect(await resolveLintPgVersion(settings({}, {}))).toBe(15);
  });
});

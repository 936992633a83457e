/**
 * Which database a command means (src/heroku/database.ts) and how the adapter reads what the heroku
 * CLI prints about databases, rate limits and 5xx answers: pure functions over the texts heroku 11.10.0
 * prints (checked against the emulator in test/integration/heroku-databases.test.ts).
 */
import { describe, expect, test } from 'vitest';

import { chooseBackup } from '../../../src/backups/choose.js';
import { isDamagedArchive, sizeTolerance } from '../../../src/backups/cache.js';
import { classifyFailure, parseBillingHint, parsePgInfo, type BackupSummary, type HerokuApi, type PgInfo } from '../../../src/heroku/cli.js';
import { describeDatabase, isOfDatabase, resolveDatabase, transferNamesOf } from '../../../src/heroku/database.js';

function backup(id: string, createdAt: string, database: string | undefined, status: BackupSummary['status'] = 'completed'): BackupSummary {
  return { id, num: Number(id.slice(1)), kind: 'backup', status, createdAt, finishedAt: createdAt, sizeBytes: 1, database, scheduled: false };
}

const HINTS = { notFound: 'nf', notCompleted: 'nc', none: 'capture one' };

describe('transferNamesOf and isOfDatabase', () => {
  test('a colour attachment gives the attachment name and the bare colour', () => {
    expect(transferNamesOf(['HEROKU_POSTGRESQL_COBALT_URL', 'DATABASE_URL'])).toEqual(['HEROKU_POSTGRESQL_COBALT', 'COBALT', 'DATABASE']);
    expect(transferNamesOf(['DATABASE_URL'])).toEqual(['DATABASE']);
  });

  test("a backup is the database's when its database name is one of them, case aside; unnamed ones are not", () => {
    const db = { transferNames: transferNamesOf(['HEROKU_POSTGRESQL_COBALT_URL', 'DATABASE_URL']) };
    expect(isOfDatabase({ database: 'COBALT' }, db)).toBe(true);
    expect(isOfDatabase({ database: 'cobalt' }, db)).toBe(true);
    expect(isOfDatabase({ database: 'DATABASE' }, db)).toBe(true);
    expect(isOfDatabase({ database: 'AMBER' }, db)).toBe(false);
    expect(isOfDatabase({ database: undefined }, db)).toBe(false);
  });

  test('describeDatabase names the colour and the billing app', () => {
    const names = transferNamesOf(['HEROKU_POSTGRESQL_AMBER_URL']);
    expect(describeDatabase({ app: 'reports', database: 'DATABASE_URL', backupsApp: 'shop', transferNames: names })).toBe("reports's DATABASE_URL (AMBER, billed to shop)");
    expect(describeDatabase({ app: 'shop', database: 'DATABASE_URL', backupsApp: 'shop', transferNames: ['DATABASE'] })).toBe("shop's DATABASE_URL");
  });
});

describe("chooseBackup with a database: 'latest' is the newest backup of that database", () => {
  const list = [backup('b003', '2026-03-01T10:00:00Z', 'AMBER'), backup('b002', '2026-03-01T09:00:00Z', 'COBALT'), backup('b001', '2026-03-01T08:00:00Z', 'COBALT')];
  const cobalt = { label: "shop's DATABASE_URL (COBALT)", isOf: (b: BackupSummary) => b.database === 'COBALT' };

  test("passes over a newer follower's backup", () => {
    expect(chooseBackup(list, 'latest', 'shop', HINTS, cobalt).id).toBe('b002');
    expect(chooseBackup(list, 'latest', 'shop', HINTS).id).toBe('b003');
  });

  test('a named backup of another database is still used', () => {
    expect(chooseBackup(list, 'b003', 'shop', HINTS, cobalt).id).toBe('b003');
  });

  test('none of the database: says so, and whose the others are', () => {
    expect(() => chooseBackup(list.slice(0, 1), 'latest', 'shop', HINTS, cobalt)).toThrow(/^shop has no completed backup of shop's DATABASE_URL \(COBALT\) \(b003 is of AMBER\)$/);
  });
});

describe('parsePgInfo and parseBillingHint', () => {
  const shared = `=== DATABASE_URL

Plan:               Standard 0
Status:             Available
PG Version:         15.20
Billing App:        shop
Add-on:             postgresql-emu-3a1c0e
`;

  test('reads the config vars, the add-on and the billing app', () => {
    expect(parsePgInfo(shared)).toMatchObject({ attachment: 'DATABASE_URL', configVars: ['DATABASE_URL'], addon: 'postgresql-emu-3a1c0e', billingApp: 'shop', version: '15.20' });
    const own = parsePgInfo('=== HEROKU_POSTGRESQL_COBALT_URL, DATABASE_URL\n\nPG Version: 16.4\nAdd-on: postgresql-x\n');
    expect(own).toMatchObject({ configVars: ['HEROKU_POSTGRESQL_COBALT_URL', 'DATABASE_URL'], billingApp: undefined, version: '16.4' });
  });

  test("the capture's hint names the billing app", () => {
    const out = `HINT: You are running this command with a non-billing application.\nUse heroku pg:backups -a shop to check the list of backups.\n\nBacking up COBALT to b001...\n`;
    expect(parseBillingHint(out)).toBe('shop');
    expect(parseBillingHint('Backing up DATABASE to b001...')).toBeUndefined();
  });
});

describe('resolveDatabase', () => {
  function heroku(infos: Record<string, Partial<PgInfo>>): Pick<HerokuApi, 'pgInfo'> & { asked: string[] } {
    const asked: string[] = [];
    return {
      asked,
      pgInfo: async (app, database = 'DATABASE_URL') => {
        asked.push(`${app} ${database}`);
        const info = infos[`${app} ${database}`];
        if (!info) throw new Error(`no ${database} on ${app}`);
        return { attachment: '', configVars: [], addon: undefined, billingApp: undefined, version: undefined, plan: undefined, status: undefined, fields: {}, ...info };
      },
    };
  }

  test("an app's own database: one pg:info, named", async () => {
    const h = heroku({ 'shop DATABASE_URL': { configVars: ['HEROKU_POSTGRESQL_COBALT_URL', 'DATABASE_URL'], version: '16.4', addon: 'pg-1' } });
    expect(await resolveDatabase(h, 'shop')).toMatchObject({ backupsApp: 'shop', transferNames: ['HEROKU_POSTGRESQL_COBALT', 'COBALT', 'DATABASE'], version: '16.4' });
    expect(h.asked).toEqual(['shop DATABASE_URL']);
  });

  test("a shared database: its names on the billing app (whose DATABASE may be another database)", async () => {
    const h = heroku({
      'reports DATABASE_URL': { configVars: ['DATABASE_URL'], billingApp: 'shop', addon: 'pg-amber' },
      'shop pg-amber': { configVars: ['HEROKU_POSTGRESQL_AMBER_URL'] },
    });
    const db = await resolveDatabase(h, 'reports');
    expect(db).toMatchObject({ backupsApp: 'shop', transferNames: ['HEROKU_POSTGRESQL_AMBER', 'AMBER'] });
    expect(isOfDatabase({ database: 'DATABASE' }, db)).toBe(false);
  });
});

describe('classifyFailure: rate limits and 5xx', () => {
  const result = (stderr: string) => ({ stderr, stdout: '', command: 'heroku pg:backups:info b001 --app shop', exitCode: 2 });

  test('429 rate_limit is rate-limited, with when to try again', () => {
    const error = classifyFailure(result(' ›   Error: Your account reached the API rate limit\n ›   Please wait a few minutes before making new requests\n ›\n ›   Error ID: rate_limit\n'), 'shop');
    expect(error.kind).toBe('rate-limited');
    expect(error.message).toBe("Heroku's API rate limit was reached (app shop): Your account reached the API rate limit Please wait a few minutes before making new requests");
    expect(error.hint).toMatch(/about 75 a minute/);
  });

  test('a 5xx error id is unavailable', () => {
    expect(classifyFailure(result(' ›   Error: Internal server error.\n ›   Error ID: internal_server_error\n'), 'shop').kind).toBe('unavailable');
  });
});

describe('download checks', () => {
  test("the size may differ from Heroku's rounded listing by 2 % (at least 1 KB)", () => {
    expect(sizeTolerance(100)).toBe(1024);
    expect(sizeTolerance(1_000_000)).toBe(20_000);
  });

  test("pg_restore's messages about damaged archive data are recognised, others are not", () => {
    expect(isDamagedArchive('pg_restore: error: could not uncompress data: incorrect data check')).toBe(true);
    expect(isDamagedArchive('pg_restore: error: could not read from input file: end of file')).toBe(true);
    expect(isDamagedArchive('pg_restore: error: could not execute query: ERROR:  relation "x" already exists')).toBe(false);
  });
});

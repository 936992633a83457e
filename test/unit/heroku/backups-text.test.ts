/**
 * The text parsers of HerokuCli for commands without --json (pg:backups, pg:backups:info,
 * ps:scale, the --verbose capture). The fixtures in test/fixtures/heroku are the real heroku CLI
 * 11.10.0's stdout, captured against the emulator (test/heroku-emulator) with backups in every
 * state: completed (one backdated three days), failed, pending, running, plus a completed and a
 * failed restore.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, test } from 'vitest';

import { parseBackupInfo, parseBackupList, parseCaptureName, parseFormation, parseHerokuTime, parseSize } from '../../../src/heroku/cli.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'heroku');

function fixture(name: string): string {
  return readFileSync(resolve(FIXTURES, name), 'utf8');
}

describe('parseHerokuTime', () => {
  test('turns Heroku transfer times into ISO 8601 UTC', () => {
    expect(parseHerokuTime('2026-11-21 16:42:08 +0000')).toBe('2026-11-21T16:42:08Z');
    expect(parseHerokuTime('2026-11-21 16:42:08 +0130')).toBe('2026-11-21T15:12:08Z');
    expect(parseHerokuTime('2026-11-21T16:42:08Z')).toBe('2026-11-21T16:42:08Z');
  });

  test('returns text it does not understand unchanged', () => {
    expect(parseHerokuTime('yesterday')).toBe('yesterday');
  });
});

describe('parseSize', () => {
  test('reads the sizes the bytes package prints (base 1024)', () => {
    expect(parseSize('0.00B')).toBe(0);
    expect(parseSize('214.00B')).toBe(214);
    expect(parseSize('3.02KB')).toBe(3092);
    expect(parseSize('7.44MB')).toBe(Math.round(7.44 * 1024 ** 2));
    expect(parseSize('1.50 GB')).toBe(Math.round(1.5 * 1024 ** 3));
  });

  test('returns undefined for an empty or unknown cell', () => {
    expect(parseSize('')).toBeUndefined();
    expect(parseSize('lots')).toBeUndefined();
  });
});

describe('parseBackupList', () => {
  test('reads every backup and restore, newest first, with status, times and size', () => {
    const list = parseBackupList(fixture('pg-backups.txt'));
    expect(list.map((b) => `${b.id} ${b.kind} ${b.status}`)).toEqual([
      'b007 backup running',
      'r006 restore failed',
      'r005 restore completed',
      'b004 backup pending',
      'b003 backup failed',
      'b002 backup completed',
      'b001 backup completed',
    ]);
    expect(list.find((b) => b.id === 'b002')).toEqual({
      id: 'b002',
      num: 2,
      kind: 'backup',
      status: 'completed',
      createdAt: '2026-11-21T16:42:08Z',
      finishedAt: '2026-11-21T16:42:08Z',
      sizeBytes: 3092,
      database: 'DATABASE',
      scheduled: false,
    });
    expect(list.find((b) => b.id === 'b001')?.createdAt).toBe('2026-11-18T16:42:05Z');
    expect(list.find((b) => b.id === 'b003')).toMatchObject({ status: 'failed', finishedAt: '2026-11-21T16:42:11Z', sizeBytes: 0 });
    expect(list.find((b) => b.id === 'b004')).toMatchObject({ status: 'pending', finishedAt: undefined });
    expect(list.find((b) => b.id === 'b007')).toMatchObject({ status: 'running', finishedAt: undefined, sizeBytes: 214 });
    expect(list.find((b) => b.id === 'r005')).toMatchObject({ num: 5, createdAt: '2026-11-21T16:42:17Z', database: 'DATABASE' });
  });

  test('returns nothing when there are no transfers', () => {
    const empty = [
      '=== Backups',
      '',
      'No backups. Capture one with heroku pg:backups:capture',
      '',
      '=== Restores',
      '',
      'No restores found. Use heroku pg:backups:restore to restore a backup',
      '',
      '=== Copies',
      '',
      'No copies found. Use heroku pg:copy to copy a database to another',
      '',
    ].join('\n');
    expect(parseBackupList(empty)).toEqual([]);
  });

  test('reads scheduled backups, warnings and empty cells by column position', () => {
    const text = [
      '=== Backups',
      '',
      '  ID     Created at                  Status                                Size     Database',
      ' ────────────────────────────────────────────────────────────────────────────────────────────',
      '  a012   2026-11-21 02:00:01 +0000   Finished with 2 warnings                       DATABASE',
      '  b011   2026-11-20 16:42:08 +0000   Completed 2026-11-20 16:43:00 +0000   1.00GB',
      '',
    ].join('\n');
    expect(parseBackupList(text)).toEqual([
      expect.objectContaining({ id: 'a012', kind: 'backup', scheduled: true, status: 'completed', sizeBytes: undefined, database: 'DATABASE' }),
      expect.objectContaining({ id: 'b011', finishedAt: '2026-11-20T16:43:00Z', sizeBytes: 1024 ** 3, database: undefined }),
    ]);
  });

  test('reads copies with their target database', () => {
    const text = [
      '=== Copies',
      '',
      '  ID     Started at                  Status                                Size     From       To',
      ' ──────────────────────────────────────────────────────────────────────────────────────────────────',
      '  c009   2026-11-21 16:42:08 +0000   Completed 2026-11-21 16:42:10 +0000   3.02KB   DATABASE   HEROKU_POSTGRESQL_PINK',
      '',
    ].join('\n');
    expect(parseBackupList(text)).toEqual([expect.objectContaining({ id: 'c009', kind: 'copy', database: 'HEROKU_POSTGRESQL_PINK' })]);
  });
});

describe('parseBackupInfo', () => {
  test('reads a completed backup with its sizes and every log line', () => {
    const info = parseBackupInfo(fixture('pg-backups-info-completed.txt'));
    expect(info).toMatchObject({
      id: 'b002',
      num: 2,
      kind: 'backup',
      status: 'completed',
      createdAt: undefined,
      finishedAt: '2026-11-21T16:42:08Z',
      sizeBytes: 3092,
      sourceBytes: Math.round(7.43 * 1024 ** 2),
      database: 'DATABASE',
      scheduled: false,
    });
    expect(info?.logs[0]).toEqual({ createdAt: '2026-11-21T16:42:08Z', message: 'pg_dump: last built-in OID is 16383' });
    expect(info?.logs.at(-1)?.message).toBe('Finished backup of DATABASE to b002: 3.0 kB');
    expect(info?.logs).toHaveLength(56);
  });

  test('reads a failed backup and the log lines that explain it', () => {
    const info = parseBackupInfo(fixture('pg-backups-info-failed.txt'));
    expect(info).toMatchObject({ id: 'b003', status: 'failed', sizeBytes: 0, finishedAt: '2026-11-21T16:42:11Z' });
    expect(info?.logs.map((l) => l.message)).toEqual([
      'pg_dump: error: query failed: server closed the connection unexpectedly',
      'pg_dump: detail: This probably means the server terminated abnormally (failure injected by the drydock emulator)',
      'pg_dump finished with errors',
      'upload aborted: b003 is incomplete and cannot be restored',
    ]);
  });

  test('reads a pending backup, which has no times and no logs', () => {
    expect(parseBackupInfo(fixture('pg-backups-info-pending.txt'))).toEqual({
      id: 'b004',
      num: 4,
      kind: 'backup',
      status: 'pending',
      createdAt: undefined,
      finishedAt: undefined,
      sizeBytes: 0,
      sourceBytes: 0,
      database: 'DATABASE',
      scheduled: false,
      logs: [],
    });
  });

  test('reads a running backup', () => {
    const info = parseBackupInfo(fixture('pg-backups-info-running.txt'));
    expect(info).toMatchObject({ id: 'b007', status: 'running', finishedAt: undefined, sizeBytes: 689 });
    expect(info?.logs.length).toBeGreaterThan(0);
  });

  test('reads a restore', () => {
    const info = parseBackupInfo(fixture('pg-backups-info-restore.txt'));
    expect(info).toMatchObject({ id: 'r005', num: 5, kind: 'restore', status: 'completed', sizeBytes: 3092 });
    expect(info?.logs.map((l) => l.message)).toContain('pg_restore done');
  });

  test('joins a multi-line log message', () => {
    const text = '=== Backup b001\n\nStatus: Failed\n\n=== Backup Logs\n\n2026-11-21 16:42:08 +0000 pg_dump: error: query failed\nDETAIL: more\n\n';
    expect(parseBackupInfo(text)?.logs).toEqual([{ createdAt: '2026-11-21T16:42:08Z', message: 'pg_dump: error: query failed\nDETAIL: more' }]);
  });

  test('reads "Canceled" and scheduled backups', () => {
    expect(parseBackupInfo('=== Backup a003\n\nStatus: Canceled\nType: Scheduled\n')).toMatchObject({ id: 'a003', status: 'canceled', scheduled: true });
  });

  test('returns undefined when there is no backup block', () => {
    expect(parseBackupInfo('')).toBeUndefined();
  });
});

describe('parseCaptureName', () => {
  test('finds the new backup in the --verbose capture output', () => {
    expect(parseCaptureName(fixture('pg-backups-capture-verbose.txt'))).toBe('b002');
    expect(parseCaptureName('Backing up HEROKU_POSTGRESQL_PINK to a042... done')).toBe('a042');
  });

  test('returns undefined without one', () => {
    expect(parseCaptureName('Starting backup of postgresql-emu-1... done')).toBeUndefined();
  });
});

describe('parseFormation', () => {
  test('reads every process type, zero quantities included', () => {
    expect(parseFormation(fixture('ps-scale.txt'))).toEqual({ clock: 1, web: 2, worker: 0 });
  });

  test('reads sizes with dashes and ignores other text', () => {
    expect(parseFormation('web=3:Standard-2X release-worker=1:Performance-M\n')).toEqual({ web: 3, 'release-worker': 1 });
    expect(parseFormation('')).toEqual({});
  });
});

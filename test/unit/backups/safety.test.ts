import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { chooseBackupSkipping } from '../../../src/backups/choose.js';
import { describeSafety, findSafetyBackups, readSafetyRecords, recordSafetyBackup, type SafetyRecord } from '../../../src/backups/safety.js';
import { formatAge } from '../../../src/format.js';
import type { BackupSummary } from '../../../src/heroku/cli.js';

function t(id: string, createdAt: string, extra: Partial<BackupSummary> = {}): BackupSummary {
  return {
    id,
    num: Number(id.slice(1)),
    kind: id.startsWith('r') ? 'restore' : 'backup',
    status: 'completed',
    createdAt,
    finishedAt: createdAt,
    sizeBytes: 1,
    database: 'DATABASE',
    scheduled: id.startsWith('a'),
    ...extra,
  };
}

const HINTS = { notFound: 'nf', notCompleted: 'nc', none: 'capture one' };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('findSafetyBackups', () => {
  it('infers a backup followed at once by a restore (next transfer number) as a safety backup, on any machine', () => {
    const notes = findSafetyBackups(
      [t('r003', '2026-03-01T10:02:00Z'), t('b002', '2026-03-01T10:00:00Z', { finishedAt: '2026-03-01T10:01:00Z' }), t('b001', '2026-03-01T08:00:00Z')],
      [],
    );
    expect([...notes.keys()]).toEqual(['b002']);
    expect(describeSafety(notes.get('b002')!)).toBe('safety backup before restore r003 at 2026-03-01T10:00:00Z');
  });

  it('does not mark a backup that was restored hours later, or one followed by another backup', () => {
    // a004 (nightly) restored by hand at noon is the restored backup, not a safety backup.
    const notes = findSafetyBackups([t('r005', '2026-03-01T12:00:00Z'), t('a004', '2026-03-01T02:00:00Z'), t('b003', '2026-03-01T01:00:00Z'), t('b002', '2026-03-01T00:59:00Z')], []);
    expect(notes.size).toBe(0);
  });

  it('a record of this machine marks a backup no restore followed, and says which backup was being restored', () => {
    const record: SafetyRecord = { app: 'x', id: 'b002', createdAt: '2026-03-01T10:00:00Z', restoreOf: 'b001', database: 'DATABASE_URL', capturedAt: '2026-03-01T10:01:00Z' };
    const notes = findSafetyBackups([t('b002', '2026-03-01T10:00:00Z'), t('b001', '2026-03-01T08:00:00Z')], [record]);
    expect(describeSafety(notes.get('b002')!)).toBe('safety backup before restore of b001 at 2026-03-01T10:00:00Z');
    // The same id with another creation time is another backup (the app was re-created): not marked.
    expect(findSafetyBackups([t('b002', '2026-04-01T10:00:00Z')], [record]).size).toBe(0);
  });
});

describe('safety records', () => {
  it('are written atomically per app and read back; a broken file reads as none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drydock-safety-'));
    dirs.push(dir);
    const base = { createdAt: undefined, restoreOf: 'b001', database: 'DATABASE_URL', capturedAt: '2026-03-01T10:00:00Z' };
    await recordSafetyBackup(dir, { ...base, app: 'one', id: 'b002' });
    await recordSafetyBackup(dir, { ...base, app: 'one', id: 'b004' });
    await recordSafetyBackup(dir, { ...base, app: 'two', id: 'b009' });
    expect((await readSafetyRecords(dir, 'one')).map((r) => r.id)).toEqual(['b002', 'b004']);
    expect((await readSafetyRecords(dir, 'two')).map((r) => r.id)).toEqual(['b009']);
    expect(JSON.parse(readFileSync(join(dir, 'safety-backups', 'one.json'), 'utf8'))).toHaveLength(2);
    mkdirSync(join(dir, 'safety-backups'), { recursive: true });
    writeFileSync(join(dir, 'safety-backups', 'three.json'), '{not json');
    expect(await readSafetyRecords(dir, 'three')).toEqual([]);
  });
});

describe('chooseBackupSkipping', () => {
  const list = [t('r004', '2026-03-01T10:02:00Z'), t('b003', '2026-03-01T10:00:00Z'), t('b002', '2026-03-01T09:00:00Z', { status: 'failed' }), t('b001', '2026-03-01T08:00:00Z')];
  const skip = new Map([['b003', 'safety backup before restore r004']]);

  it("'latest' passes over skipped backups and says which", () => {
    expect(chooseBackupSkipping(list, 'latest', 'x', HINTS, skip)).toEqual({ backup: list[3], skipped: [{ id: 'b003', why: 'safety backup before restore r004' }] });
    expect(chooseBackupSkipping(list, undefined, 'x', HINTS, skip).backup.id).toBe('b001');
  });

  it('a named backup is used even when skipped for latest', () => {
    expect(chooseBackupSkipping(list, 'B003', 'x', HINTS, skip)).toEqual({ backup: list[1], skipped: [] });
  });

  it('only safety backups: refuses and names them', () => {
    expect(() => chooseBackupSkipping(list.slice(0, 2), 'latest', 'x', HINTS, skip)).toThrow(/^x has no completed backup other than b003 \(safety backup before restore r004\)$/);
  });
});

describe('formatAge', () => {
  it('shows seconds and minutes for recent backups, hours, then days', () => {
    expect(formatAge(12 / 3600)).toBe('12 s');
    expect(formatAge(0)).toBe('0 s');
    expect(formatAge(4.6 / 60)).toBe('4.6 min');
    expect(formatAge(2.5)).toBe('2.5 h');
    expect(formatAge(72)).toBe('3 d');
    expect(formatAge(undefined)).toBe('?');
  });
});

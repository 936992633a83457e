import { describe, expect, it } from 'vitest';

import { decideAction, type BackfillRequest } from '../../../src/backfill/engine.js';
import { changeFingerprint } from '../../../src/backfill/spec.js';
import { DrydockError } from '../../../src/errors.js';
import type { BackfillProgress, BackfillTable } from '../../../src/pg/queries/backfill.js';
import { resolveBackfillSettings } from '../../../src/settings.js';

const table: BackfillTable = { oid: 1, name: 'public.users', kind: 'r', estimatedRows: 10, key: [{ name: 'id', type: 'bigint' }], columns: ['id', 'email', 'email_lower'] };
const change = { table: 'users', set: 'email_lower = lower(email)', where: 'email_lower IS NULL', columns: ['email_lower'] };
const fingerprint = changeFingerprint({ table: 'public.users', set: change.set, where: change.where });

function progress(over: Partial<BackfillProgress> = {}): BackfillProgress {
  return { table: 'public.users', fingerprint, set: change.set, where: change.where, keyColumns: ['id'], lastKey: ['500'], rowsUpdated: 500, rowsScanned: 500, batches: 1, startedAt: new Date(0), updatedAt: new Date(0), finishedAt: undefined, ...over };
}

function request(mode: BackfillRequest['mode'], restart = false): BackfillRequest {
  return { change, settings: resolveBackfillSettings({}), mode, restart };
}

function refusal(fn: () => unknown): DrydockError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DrydockError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('start, resume or refuse', () => {
  it('starts without a record, and after a finished one', () => {
    expect(decideAction(request('start'), table, undefined, fingerprint)).toBe('start');
    expect(decideAction(request('start'), table, progress({ finishedAt: new Date(0) }), fingerprint)).toBe('start');
  });

  it('refuses to start over an unfinished backfill, pointing at --resume or --restart', () => {
    const e = refusal(() => decideAction(request('start'), table, progress(), fingerprint));
    expect(e.message).toMatch(/an unfinished backfill of public\.users is recorded in drydock_backfills \(500 row\(s\) updated in 1 batch\(es\), the last at key 500/);
    expect(e.hint).toMatch(/--resume to continue it, or with --restart/);
    expect(e.exitCode).toBe(2);
    expect(decideAction(request('start', true), table, progress(), fingerprint)).toBe('start');
  });

  it('resumes the same change, and says when it already finished', () => {
    expect(decideAction(request('resume'), table, progress(), fingerprint)).toBe('resume');
    expect(decideAction(request('resume'), table, progress({ finishedAt: new Date(0) }), fingerprint)).toBe('finished');
  });

  it('refuses --resume with nothing recorded, or with other arguments, saying what differs', () => {
    expect(refusal(() => decideAction(request('resume'), table, undefined, fingerprint)).message).toMatch(/--resume: no backfill of public\.users is recorded/);
    const other = progress({ fingerprint: 'x', set: 'email_lower = upper(email)', where: undefined });
    const e = refusal(() => decideAction(request('resume'), table, other, fingerprint));
    expect(e.message).toMatch(/--resume: the unfinished backfill of public\.users was started with different arguments: --set was "email_lower = upper\(email\)", now "email_lower = lower\(email\)"; --where was not given, now "email_lower IS NULL"/);
    expect(e.hint).toMatch(/--restart to abandon it/);
  });

  it('refuses --resume when the primary key changed', () => {
    const e = refusal(() => decideAction(request('resume'), table, progress({ keyColumns: ['uuid'] }), fingerprint));
    expect(e.message).toMatch(/the primary key was \(uuid\), now \(id\)/);
  });

  it('in a migration: resumes its own unfinished backfill, starts again after a finished one, refuses another unfinished one', () => {
    expect(decideAction(request('auto'), table, undefined, fingerprint)).toBe('start');
    expect(decideAction(request('auto'), table, progress(), fingerprint)).toBe('resume');
    expect(decideAction(request('auto'), table, progress({ finishedAt: new Date(0) }), fingerprint)).toBe('start');
    expect(decideAction(request('auto'), table, progress({ fingerprint: 'x', set: 'a = 1', finishedAt: new Date(0) }), fingerprint)).toBe('start');
    const e = refusal(() => decideAction(request('auto'), table, progress({ fingerprint: 'x', set: 'a = 1' }), fingerprint));
    expect(e.hint).toMatch(/delete its row from drydock_backfills to abandon it, then run the migration again/);
  });
});

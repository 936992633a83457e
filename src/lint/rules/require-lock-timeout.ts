/**
 * A statement that needs a lock blocking reads or writes waits for it behind every conflicting
 * lock already held, and every later query on the table queues behind the waiting statement: one
 * long SELECT turns a millisecond ALTER TABLE into an outage. lock_timeout makes it give up (and
 * the migration fail, to be retried) instead. drydock's runner sets it for drydock migrations;
 * plain SQL files must set it themselves.
 * https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT
 */
import { showRelation } from '../ast.js';
import { blockedBy, blockingLocks, LOCKING_STATEMENTS } from '../locks.js';
import { defineRule } from './shared.js';

export const requireLockTimeout = defineRule({
  id: 'require-lock-timeout',
  summary: 'A lock-taking statement in a plain SQL file with no lock_timeout set',
  severity: 'error',
  kinds: LOCKING_STATEMENTS,
  check(stmt, ctx) {
    if (ctx.hasLockTimeout) return;
    // A relation created earlier in the migration is new; one the database does not have is created by this statement.
    const lock = blockingLocks(stmt.kind, stmt.node).find((l) => !l.table || (ctx.isExisting(l.table) && ctx.relationExists(l.table) !== 'no'));
    if (!lock || !ctx.firstTime('require-lock-timeout')) return;
    const table = lock.table ? `\`${showRelation(lock.table)}\`` : (lock.tables ?? 'the tables');
    ctx.report({
      message: `this statement needs ${lock.mode.startsWith('SHARE') ? 'a' : 'an'} ${lock.mode} lock on ${table} and no lock_timeout is set: while it waits behind a long-running query, every ${blockedBy(lock.mode) === 'writes' ? 'write to' : 'read and write of'} ${table} queues behind it`,
      help: [
        `SET ${ctx.inTransaction ? 'LOCAL ' : ''}lock_timeout = '5s'; -- before the first statement that takes a lock; retry the migration if it times out`,
        '-- (drydock migrations get this from the runner: see `drydock migrate create`)',
      ].join('\n'),
    });
  },
});

/**
 * The scratch database `drydock rehearse` builds a fresh schema in, on the local server: created empty
 * from template0 with the copy's encoding and locale, marked with a COMMENT naming its process and host
 * (rehearse/fresh.ts), dropped when the rehearsal ends; and the leftovers of killed rehearsals, dropped
 * by the next one. Only databases carrying drydock's marker are ever dropped.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import { withClient } from '../pg/client.js';
import { quoteIdent, quoteLiteral } from '../pg/ident.js';
import { readMarkedDatabases } from '../pg/queries/fresh-scratch.js';
import { readDatabaseLocale, type DatabaseLocale } from '../pg/queries/server-facts.js';
import { withDatabase, type DbUrl } from '../pg/url.js';
import { isLeftoverScratch, SCRATCH_MARKER, scratchComment, scratchName } from '../rehearse/fresh.js';
import { adminUrl, isAlive, LocalServer, localeClause } from './server.js';

const APPLICATION_NAME = 'drydock rehearse';

/** Drop the scratch databases killed rehearsals left (isLeftoverScratch); returns their names. */
export async function dropLeftoverScratch(server: DbUrl, nowMs: number): Promise<string[]> {
  return withClient(
    adminUrl(server),
    async (admin) => {
      const dropped: string[] = [];
      const here = { host: hostname(), nowMs, isAlive: (pid: number) => pid === process.pid || isAlive(pid) };
      for (const db of await readMarkedDatabases(admin, SCRATCH_MARKER)) {
        if (!isLeftoverScratch(db.name, db.comment, here)) continue;
        await new LocalServer(admin).drop(db.name);
        dropped.push(db.name);
      }
      return dropped;
    },
    { applicationName: APPLICATION_NAME },
  );
}

/**
 * Create an empty scratch database next to `copy` (the working database): from template0, with the
 * copy's encoding and locale (the server's default when this server cannot), marked at once. Returns its URL.
 */
export async function createScratch(copy: DbUrl, target: string, nowMs: number): Promise<DbUrl> {
  const locale = await withClient(copy, readDatabaseLocale, { applicationName: APPLICATION_NAME });
  const name = scratchName(target, randomBytes(4).toString('hex'));
  await withClient(
    adminUrl(copy),
    async (admin) => {
      await createDatabase(admin, name, locale);
      // CREATE DATABASE cannot share a transaction with its COMMENT: a process killed between the two
      // leaves an unmarked database, which no clean-up touches (its name says what it is).
      await admin.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(scratchComment({ target, pid: process.pid, host: hostname(), createdAt: new Date(nowMs).toISOString() }))}`);
    },
    { applicationName: APPLICATION_NAME },
  );
  return withDatabase(copy, name);
}

async function createDatabase(admin: LocalServer['admin'], name: string, locale: DatabaseLocale): Promise<void> {
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0${localeClause(locale)}`);
  } catch (error) {
    // 22023: invalid_parameter_value (a locale this server lacks): the server's default will do.
    if ((error as { code?: string }).code !== '22023') throw error;
    await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`);
  }
}

/** Drop a scratch database this process made (its sessions are ended). */
export async function dropScratch(scratch: DbUrl): Promise<void> {
  await withClient(adminUrl(scratch), (admin) => new LocalServer(admin).drop(scratch.database!), { applicationName: APPLICATION_NAME });
}

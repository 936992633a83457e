/**
 * The working database a pull, snapshot or rehearsal works on: its name and the local server it lives on.
 */
import { ConfigError } from '../errors.js';
import { assertIdentifier } from '../pg/ident.js';
import { parseDatabaseUrl, type DbUrl, type LibpqDefaults } from '../pg/url.js';
import { resolveLocalUrl, type ValueSource } from '../settings.js';

/** --local as given, and where its value came from (the flag or DRYDOCK_LOCAL_DATABASE_URL). */
export interface LocalFlag {
  value: string | undefined;
  source?: ValueSource;
}

/** The default working database of an app: its name with _ for -. */
export function defaultTarget(app: string | undefined): string | undefined {
  return app?.replace(/-/g, '_');
}

/** The working database: `--to NAME` on the local server, or `--to URL` (its database is the name). */
export function resolveTarget(to: string | undefined, fallback: string | undefined, local: LocalFlag, libpq: LibpqDefaults): { local: DbUrl; target: string } {
  if (to && /^postgres(ql)?:\/\//i.test(to)) {
    const url = parseDatabaseUrl(to, '--to URL', libpq);
    if (!url.database) throw new ConfigError('--to URL names no database', { hint: 'for example --to postgres://localhost:5432/myapp_development' });
    assertIdentifier(url.database, 'target database name');
    return { local: url, target: url.database };
  }
  const target = to ?? fallback;
  if (!target) throw new ConfigError('pull needs a target database: --to NAME', { hint: 'for example --to myapp_development' });
  if (!/^[A-Za-z_][A-Za-z0-9_$-]*$/.test(target)) {
    throw new ConfigError(`"${target.slice(0, 40)}" is not a usable database name`, { hint: 'use letters, digits and underscores, e.g. myapp_development' });
  }
  assertIdentifier(target, 'target database name');
  if (/^drydock_(pull|prev|snap)_/.test(target)) throw new ConfigError(`"${target}" looks like one of drydock's own copies (drydock_pull_, drydock_prev_, drydock_snap_): those names are reserved`, { hint: 'choose another name' });
  return { local: resolveLocalUrl(local.value, libpq, local.source), target };
}


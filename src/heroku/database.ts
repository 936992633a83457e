/**
 * Which Heroku Postgres database a command means, and where its backups are.
 *
 * An app can have several databases (a primary attached as DATABASE and under its colour,
 * HEROKU_POSTGRESQL_COBALT; followers under their own colours), and a database can be attached to an
 * app that does not pay for it (shared from another app). drydock always names the database it means
 * (DATABASE_URL unless told otherwise), and:
 * - its backups and restores are listed under the app that pays for it (`heroku pg:info` says
 *   "Billing App" when that is another app);
 * - transfers name the database by its colour or attachment name on that app ("Backing up COBALT to
 *   b003"), so a backup belongs to it when that name is one of the database's names there.
 */
import type { BackupSummary, HerokuApi, PgInfo } from './cli.js';

/** One database as a command uses it. */
export interface HerokuDatabase {
  /** The app the user named. */
  app: string;
  /** The attachment or config var the user named (DATABASE_URL by default). */
  database: string;
  /** The app that pays for it: its backups and restores are listed there. */
  backupsApp: string;
  /** The add-on's name, when pg:info printed it. */
  addon: string | undefined;
  /** Upper-case names transfers may give it: DATABASE, COBALT, HEROKU_POSTGRESQL_COBALT. */
  transferNames: string[];
  /** "PG Version" as printed, e.g. "16.4". */
  version: string | undefined;
  /** What `heroku pg:info DATABASE -a app` printed. */
  info: PgInfo;
}

const COLOUR_PREFIX = 'HEROKU_POSTGRESQL_';

/**
 * The names transfers may give a database attached through these config vars (DATABASE_URL,
 * HEROKU_POSTGRESQL_COBALT_URL): the attachment names, and a colour without its prefix. Pure.
 */
export function transferNamesOf(configVars: readonly string[]): string[] {
  const names = new Set<string>();
  for (const configVar of configVars) {
    const name = configVar.toUpperCase().replace(/_URL$/, '');
    if (!name) continue;
    names.add(name);
    if (name.startsWith(COLOUR_PREFIX) && name.length > COLOUR_PREFIX.length) names.add(name.slice(COLOUR_PREFIX.length));
  }
  return [...names];
}

/**
 * Whether a transfer is of (a backup) or into (a restore) this database: its database name is one of
 * the database's names. A transfer that names no database is not counted as this one's. Pure.
 */
export function isOfDatabase(transfer: Pick<BackupSummary, 'database'>, db: Pick<HerokuDatabase, 'transferNames'>): boolean {
  return transfer.database !== undefined && db.transferNames.includes(transfer.database.toUpperCase());
}

/** How a database is named in messages: "my-app's DATABASE_URL (COBALT, billed to other-app)". */
export function describeDatabase(db: Pick<HerokuDatabase, 'app' | 'database' | 'backupsApp' | 'transferNames'>): string {
  const colour = db.transferNames.find((n) => !n.includes('_') && n !== 'DATABASE');
  const notes = [...(colour ? [colour] : []), ...(db.backupsApp !== db.app ? [`billed to ${db.backupsApp}`] : [])];
  return `${db.app}'s ${db.database}${notes.length ? ` (${notes.join(', ')})` : ''}`;
}

/**
 * Resolve the database `database` (default DATABASE_URL) of `app` with `heroku pg:info DATABASE`: its
 * version, the app that pays for it and the names its transfers carry. A database shared from another
 * app costs one more pg:info there, for the names it has on that app.
 */
export async function resolveDatabase(heroku: Pick<HerokuApi, 'pgInfo'>, app: string, database = 'DATABASE_URL'): Promise<HerokuDatabase> {
  const info = await heroku.pgInfo(app, database);
  const backupsApp = info.billingApp && info.billingApp !== app ? info.billingApp : app;
  let configVars = info.configVars;
  if (backupsApp !== app && info.addon) {
    // Transfers on the billing app name the database as that app knows it (its DATABASE there may be
    // another database than this app's DATABASE).
    const there = await heroku.pgInfo(backupsApp, info.addon).catch(() => undefined);
    if (there?.configVars.length) configVars = there.configVars;
  }
  return { app, database, backupsApp, addon: info.addon, transferNames: transferNamesOf(configVars), version: info.version, info };
}

/**
 * `drydock migrate redo`: roll back the newest migration(s) and apply them again, then check the
 * schema is exactly what the first up produced. A down section that forgets to drop something is
 * caught here, on a development database, instead of during an emergency rollback.
 */
import type { Deps } from '../deps.js';
import { ConfigError, DrydockError, MigrationError } from '../errors.js';
import { dumpSchema } from '../schema/dump.js';
import { schemaDiff } from '../schema/normalize.js';
import type { MigrateSettings } from '../settings.js';
import { requireUrl, runMigrations } from './migrate.js';

/** The outcome of a redo. */
export interface RedoResult {
  /** File names of the migrations redone, newest first. */
  migrations: string[];
  /** The schema after redo equals the schema before it. */
  identical: boolean;
  /** A unified diff (before → after) when not identical. */
  diff: string;
}

/** Down `steps`, up again, compare normalised schema dumps. */
export async function redo(deps: Pick<Deps, 'output' | 'pgTools'>, settings: MigrateSettings, steps: number): Promise<RedoResult> {
  const options = { url: requireUrl(settings), dir: settings.dir, settings: settings.runner };
  const before = await dumpSchema(deps.pgTools, options.url);
  const down = await runMigrations(deps, { ...options, action: { direction: 'down', steps } });
  if (!down.ran.length) {
    throw new ConfigError('nothing to redo: no migration is applied', { hint: 'apply migrations first with `drydock migrate`' });
  }
  const migrations = down.ran.map((r) => `${r.version}_${r.name}.sql`);
  const newest = down.ran[0]!.version;
  try {
    await runMigrations(deps, { ...options, action: { direction: 'up', to: newest } });
  } catch (error) {
    if (error instanceof MigrationError) {
      throw new MigrationError(`redo: re-applying after the rollback failed: ${error.message}`, {
        file: error.file,
        line: error.line,
        sqlstate: error.sqlstate,
        hint: `the down section of ${migrations.join(', ')} probably left something behind that the up section creates; the database is now rolled back to before it`,
        cause: error,
      });
    }
    throw error;
  }
  const after = await dumpSchema(deps.pgTools, options.url);
  if (!before || !after) throw new DrydockError('redo: could not read the schema', { hint: 'check pg_dump with `drydock doctor`' });
  return { migrations, identical: before === after, diff: schemaDiff(before, after, { labelA: 'schema after up', labelB: 'schema after down + up' }) };
}

/** Human rendering. */
export function renderRedo(result: RedoResult): string {
  if (result.identical) return `Redo of ${result.migrations.join(', ')}: the schema after down + up is identical to the schema after up.`;
  return [`Redo of ${result.migrations.join(', ')} changed the schema:`, result.diff].join('\n');
}

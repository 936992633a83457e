/**
 * `drydock migrate redo`: roll back the newest migration(s) and apply them again, and prove that the
 * down section undoes the up section, on a development database, instead of finding out during an
 * emergency rollback:
 *
 * 1. after down, the schema is the schema from before up: every object up creates is gone, every
 *    object up drops is back (read from up's parse trees, looked up in the catalog), and when up
 *    changes the schema in ways not modelled by name, down changed the schema at all;
 * 2. after up again, the schema is exactly the schema after the first up (compared object by object).
 *
 * The schema before the first up cannot be read any more (the migration is applied), so check 1 is
 * what up itself says it changes. Each problem names the object and the section responsible.
 */
import type { Deps } from '../deps.js';
import { ConfigError, DrydockError, MigrationError } from '../errors.js';
import { loadMigrations } from '../migrate/files.js';
import { describeObject, upEffects, type UpEffects } from '../migrate/undo-check.js';
import { withClient } from '../pg/client.js';
import { objectExists } from '../pg/queries/objects.js';
import { dumpSchema } from '../schema/dump.js';
import { normalizeDump, schemaDiff } from '../schema/normalize.js';
import { objectDiff, sameObjects } from '../schema/objects.js';
import type { MigrateSettings } from '../settings.js';
import { ensureParser, splitStatements } from '../sql/parse.js';
import { requireUrl, runMigrations } from './migrate.js';

/** One way in which down does not undo up. */
export interface RedoProblem {
  /** The object, e.g. "index public.users_email_idx" (or "schema" for the coarse check). */
  object: string;
  /** The section that has to change, e.g. "down section of 20260102000000_users_email_idx.sql". */
  section: string;
  /** What is wrong, in a sentence. */
  problem: string;
}

/** The outcome of a redo. */
export interface RedoResult {
  /** File names of the migrations redone, newest first. */
  migrations: string[];
  /** The schema after down + up equals the schema before redo. */
  identical: boolean;
  /** Down undid up and up reproduced the schema: no problems. */
  ok: boolean;
  problems: RedoProblem[];
  /** A unified diff (after up → after down + up) when not identical. */
  diff: string;
}

/** Down `steps`, check what down left, up again, compare. */
export async function redo(deps: Pick<Deps, 'output' | 'pgTools'>, settings: MigrateSettings, steps: number): Promise<RedoResult> {
  const options = { url: requireUrl(settings), dir: settings.dir, settings: settings.runner };
  const files = await loadMigrations(options.dir);
  const afterUp = await dumpSchema(deps.pgTools, options.url);
  const down = await runMigrations(deps, { ...options, action: { direction: 'down', steps } });
  if (!down.ran.length) {
    throw new ConfigError('nothing to redo: no migration is applied', { hint: 'apply migrations first with `drydock migrate`' });
  }
  const migrations = down.ran.map((r) => `${r.version}_${r.name}.sql`);
  const downSection = `down section of ${migrations.join(', ')}`;
  const newest = down.ran[0]!.version;

  // What up does, oldest first: the order it runs in.
  await ensureParser();
  const redone = [...down.ran].reverse().map((r) => files.find((f) => f.version === r.version)!);
  const effects = upEffects(redone.map((f) => ({ file: f.fileName, startLine: f.up.startLine, statements: splitStatements(f.up.sql) })));
  const afterDown = await dumpSchema(deps.pgTools, options.url);
  const problems = await checkDownUndidUp(options.url, effects, sameObjects(afterUp, afterDown), (file) => `down section of ${file}`, downSection);

  try {
    await runMigrations(deps, { ...options, action: { direction: 'up', to: newest } });
  } catch (error) {
    if (error instanceof MigrationError) {
      const left = problems.map((p) => `${p.problem}`).join('; ');
      throw new MigrationError(`redo: re-applying after the rollback failed: ${error.message}`, {
        file: error.file,
        line: error.line,
        sqlstate: error.sqlstate,
        details: [...error.details, ...problems.map((p) => `down does not undo up: ${p.problem} (fix the ${p.section})`)],
        hint: `${left ? `the ${downSection} left something behind that the up section creates (${left})` : `the ${downSection} probably left something behind that the up section creates`}; the database is now rolled back to before it`,
        cause: error,
      });
    }
    throw error;
  }
  const again = await dumpSchema(deps.pgTools, options.url);
  if (!afterUp || !again) throw new DrydockError('redo: could not read the schema', { hint: 'check pg_dump with `drydock doctor`' });
  const identical = normalizeDump(afterUp, []) === normalizeDump(again, []);
  if (!identical) problems.push(...reproductionProblems(afterUp, again, downSection));
  return {
    migrations,
    identical,
    ok: problems.length === 0,
    problems,
    diff: identical ? '' : schemaDiff(afterUp, again, { labelA: 'schema after up', labelB: 'schema after down + up' }),
  };
}

/**
 * After down: what up creates must be gone, what up drops must be back; and when up changes the
 * schema otherwise, down must have changed it too.
 */
async function checkDownUndidUp(url: Parameters<typeof withClient>[0], effects: UpEffects, downChangedNothing: boolean, sectionOf: (file: string) => string, downSection: string): Promise<RedoProblem[]> {
  const problems: RedoProblem[] = await withClient(url, async (client) => {
    const found: RedoProblem[] = [];
    for (const created of effects.creates) {
      if (!(await objectExists(client, created.object))) continue;
      const object = describeObject(created.object);
      found.push({ object, section: sectionOf(created.file), problem: `${object} (created by the up section at ${created.file}:${created.line}) still exists after the down section ran` });
    }
    for (const dropped of effects.drops) {
      if (await objectExists(client, dropped.object)) continue;
      const object = describeObject(dropped.object);
      found.push({ object, section: sectionOf(dropped.file), problem: `${object} (dropped by the up section at ${dropped.file}:${dropped.line}) is missing after the down section ran` });
    }
    return found;
  });
  const changes = effects.creates.length + effects.drops.length + effects.otherSchemaStatements.length;
  if (!problems.length && downChangedNothing && changes) {
    const first = effects.creates[0] ?? effects.drops[0] ?? effects.otherSchemaStatements[0]!;
    const where = `${first.file}:${first.line}`;
    problems.push({ object: 'schema', section: downSection, problem: `the down section changed nothing in the schema, but the up section does (${where}${'text' in first ? `: ${first.text.split('\n')[0]!.slice(0, 80)}` : ''})` });
  }
  return problems;
}

/** After down + up the schema differs from after the first up: name each object that differs. */
function reproductionProblems(afterUp: string, again: string, downSection: string): RedoProblem[] {
  const diff = objectDiff(afterUp, again);
  const problems: RedoProblem[] = [
    ...diff.removed.map((object) => ({ object, section: downSection, problem: `${object} existed after up but is missing after down + up: the down section drops it and the up section does not create it` })),
    ...diff.added.map((object) => ({ object, section: downSection, problem: `${object} is new after down + up: the up section created it on top of what the down section left behind` })),
    ...diff.changed.map((object) => ({ object, section: downSection, problem: `${object} differs after down + up: the down section changed it and the up section does not set it back` })),
  ];
  return problems.length ? problems : [{ object: 'schema', section: downSection, problem: 'the schema after down + up differs from the schema after up (see the diff)' }];
}

/** Human rendering. */
export function renderRedo(result: RedoResult): string {
  const which = result.migrations.join(', ');
  if (result.ok) return `Redo of ${which}: the down section undoes the up section, and the schema after down + up is identical to the schema after up.`;
  return [
    `Redo of ${which}: the down section does not undo the up section:`,
    ...result.problems.map((p) => `  - ${p.problem} (fix the ${p.section})`),
    ...(result.diff ? ['', result.diff] : []),
  ].join('\n');
}

/**
 * ALTER COLUMN … TYPE rewrites the table and rebuilds its indexes under ACCESS EXCLUSIVE, unless
 * the old type converts to the new one without touching the data (binary coercible): varchar(n) to
 * a longer varchar(m), to varchar or to text; numeric(p,s) to a wider precision, same scale.
 * https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
 *
 * The statement only names the new type; the old one comes from the schema model (the database's
 * catalog, or the earlier migrations of the folder replayed, or earlier in this migration). When the
 * model does not know it (a file linted alone, no database), no type is safe from every plausible
 * old one (bytea → text and int → text rewrite, text → varchar(n) scans), so the change is reported,
 * saying the old type is unknown and how to let drydock know.
 */
import { asKind, columnRefName, showIdent, showRelation, showType, typeInfo, type ColumnDefNode, type PgNode, type TypeInfo } from '../ast.js';
import { defineRule, existingTableCommands } from './shared.js';

const TEXT_LIKE = new Set(['text', 'varchar', 'citext']);

/** True when changing from `from` to `to` rewrites nothing (false when the old type is unknown). */
export function isSafeTypeChange(from: TypeInfo | undefined, to: TypeInfo): boolean {
  if (!from) return false;
  if (to.isArray || from.isArray) return from.isArray === to.isArray && from.name === to.name && sameMods(from, to);
  if (from.name === to.name && sameMods(from, to)) return true;
  switch (to.name) {
    case 'text':
      return TEXT_LIKE.has(from.name) && from.name !== 'citext';
    case 'varchar':
      if (from.name === 'varchar') return to.typmods.length === 0 || (from.typmods.length > 0 && to.typmods[0]! >= from.typmods[0]!);
      return from.name === 'text' && to.typmods.length === 0;
    case 'numeric':
      if (from.name !== 'numeric') return false;
      if (to.typmods.length === 0) return true;
      return from.typmods.length > 0 && (from.typmods[1] ?? 0) === (to.typmods[1] ?? 0) && to.typmods[0]! >= from.typmods[0]!;
    case 'varbit':
      return from.name === 'varbit' && (to.typmods.length === 0 || (from.typmods.length > 0 && to.typmods[0]! >= from.typmods[0]!));
    case 'inet':
      return from.name === 'cidr';
    default:
      return false;
  }
}

/** A text-like column given a length limit (or a shorter one): every value is checked against it. */
function isShortening(from: TypeInfo, to: TypeInfo): boolean {
  return TEXT_LIKE.has(from.name) && (to.name === 'varchar' || to.name === 'bpchar') && to.typmods.length > 0 && !from.isArray && !to.isArray;
}

function sameMods(a: TypeInfo, b: TypeInfo): boolean {
  return a.typmods.length === b.typmods.length && a.typmods.every((m, i) => m === b.typmods[i]);
}

/** USING that only casts the column to the new type (what Django writes) changes nothing by itself. */
function isTrivialUsing(expr: PgNode | undefined, column: string): boolean {
  if (!expr) return true;
  const cast = asKind<{ arg?: PgNode }>(expr, 'TypeCast');
  return cast !== undefined && columnRefName(cast.arg) === column;
}

export const changingColumnType = defineRule({
  id: 'changing-column-type',
  summary: 'ALTER COLUMN … TYPE that rewrites the table under an ACCESS EXCLUSIVE lock',
  severity: 'error',
  sizeAware: true,
  kinds: ['AlterTableStmt'],
  check(stmt, ctx) {
    const alter = existingTableCommands(stmt, ctx);
    if (!alter || (stmt.node.objtype ?? 'OBJECT_TABLE') !== 'OBJECT_TABLE') return;
    for (const cmd of alter.commands) {
      if (cmd.subtype !== 'AT_AlterColumnType' || !cmd.name) continue;
      const def = asKind<ColumnDefNode>(cmd.def, 'ColumnDef');
      const to = typeInfo(def?.typeName);
      if (!to) continue;
      const from = ctx.knownColumnType(alter.table, cmd.name);
      const trivialUsing = isTrivialUsing(def?.raw_default, cmd.name);
      if (trivialUsing && isSafeTypeChange(from, to)) continue;
      const table = showRelation(alter.table);
      const column = showIdent(cmd.name);
      const timestamptzNote =
        to.name === 'timestamptz' && ctx.pgVersion >= 12 ? ['-- (timestamp → timestamptz skips the rewrite on Postgres 12+ only when the session TimeZone is UTC)'] : [];
      if (!from && trivialUsing) {
        const maybeSafe = to.name === 'text' || to.name === 'varchar';
        ctx.report({
          node: def?.typeName,
          message: `changing \`${column}\` to ${showType(to)}: drydock does not know its old type, and from most types this rewrites \`${table}\` and rebuilds its indexes (or, to a shorter varchar, rewrites it checking every value) while holding an ACCESS EXCLUSIVE lock: reads and writes wait until it finishes`,
          help: [
            `-- let drydock compare the old type: lint with --url (the database's real types), or lint the whole migrations folder${maybeSafe ? ' (varchar(n) → varchar(m ≥ n) / text is safe)' : ''}`,
            '-- else, if it rewrites: add a new column of the new type, keep it in sync with a trigger, backfill it in batches,',
            '-- move the app to it, then drop the old column in a later migration',
            `ALTER TABLE ${table} ADD COLUMN ${showIdent(`${cmd.name}_new`)} ${showType(to)};`,
          ].join('\n'),
        });
        continue;
      }
      const why = !trivialUsing ? ' (the USING expression computes a new value for every row)' : from ? ` from ${showType(from)}` : '';
      const shortens = from && trivialUsing && isShortening(from, to);
      ctx.report({
        node: def?.typeName,
        message: shortens
          ? `changing \`${column}\` to ${showType(to)}${why} rewrites \`${table}\`, checking every value against the new length (it fails if one is longer), and rebuilds its indexes while holding an ACCESS EXCLUSIVE lock: reads and writes wait until it finishes`
          : `changing \`${column}\` to ${showType(to)}${why} rewrites \`${table}\` and rebuilds its indexes while holding an ACCESS EXCLUSIVE lock: reads and writes wait until it finishes`,
        help: [
          `-- add a new column of the new type, keep it in sync with a trigger, backfill it in batches,`,
          '-- move the app to it, then drop the old column in a later migration',
          `ALTER TABLE ${table} ADD COLUMN ${showIdent(`${cmd.name}_new`)} ${showType(to)};`,
          ...timestamptzNote,
        ].join('\n'),
      });
    }
  },
});

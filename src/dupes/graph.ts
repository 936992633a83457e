/**
 * The reference graph of a table: every foreign key that points at it, and at the tables that point
 * at it (several levels, cycles cut), and the columns that look like references without a foreign
 * key. Pure: catalog facts in, references out.
 */
import type { ForeignKeyFact, LookalikeFact, Reference, TableFact, TableName, UniqueIndexFact } from './types.js';

/** How deep the graph goes (a child of a child of a child …). */
export const MAX_LEVELS = 4;

/** `schema.name`. */
export function nameOf(t: TableName): string {
  return `${t.schema}.${t.name}`;
}

/** The primary key's columns; else a unique, non-partial index over NOT NULL columns; else undefined. */
export function rowIdentity(table: TableFact): string[] | undefined {
  const pk = table.uniqueIndexes.find((i) => i.primary);
  if (pk && pk.columns.every((c) => c !== null)) return pk.columns;
  const notNull = new Set(table.columns.filter((c) => c.notNull).map((c) => c.name));
  const key = table.uniqueIndexes.find((i) => !i.partial && i.columns.every((c) => c !== null && notNull.has(c)));
  return key ? (key.columns as string[]) : undefined;
}

/** The singular of a table name, the way column names are usually made from it (users → user, companies → company). */
export function singular(name: string): string {
  if (/(us|is)$/.test(name)) return name;
  if (/ies$/.test(name)) return `${name.slice(0, -3)}y`;
  if (/(ss|x|z|ch|sh)es$/.test(name)) return name.slice(0, -2);
  if (/s$/.test(name) && !/ss$/.test(name)) return name.slice(0, -1);
  return name;
}

/** The regex (POSIX, for the catalog query) of column names that look like a reference to `table`: user_id, author_user_id, users_id. */
export function lookalikePattern(table: string): string {
  const words = [...new Set([singular(table), table])].map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return `^(.*_)?(${words.join('|')})_id$`;
}

function isMergeable(i: UniqueIndexFact): boolean {
  return !i.partial && i.columns.every((c) => c !== null);
}

/** A unique key of the referencing table that re-pointing its rows can collide on (it contains the reference's columns). */
function mergeKeysOf(child: TableFact | undefined, columns: readonly string[]): Pick<Reference, 'mergeKey' | 'unmergeableKeys'> {
  const containing = (child?.uniqueIndexes ?? []).filter((i) => columns.every((c) => i.columns.includes(c)));
  const mergeable = containing.filter(isMergeable);
  const first = mergeable[0];
  return {
    mergeKey: first && { index: first.name, columns: first.columns as string[], nullsNotDistinct: first.nullsNotDistinct },
    unmergeableKeys: [...containing.filter((i) => !isMergeable(i)), ...mergeable.slice(1)].map((i) => i.name),
  };
}

/**
 * The references: foreign keys level by level (`foreignKeys` holds every key pointing at the table or
 * at a referencing table; those pointing at tables already seen at a lower level are not walked again),
 * then the look-alike columns at level 1. `tables` describes the referencing tables (their unique keys).
 */
export function buildGraph(root: TableName, foreignKeys: readonly ForeignKeyFact[], lookalikes: readonly LookalikeFact[], tables: ReadonlyMap<string, TableFact>, rootPk: readonly string[]): Reference[] {
  const refs: Reference[] = [];
  const seen = new Set([nameOf(root)]);
  let frontier = [nameOf(root)];
  for (let level = 1; level <= MAX_LEVELS && frontier.length; level++) {
    const next: string[] = [];
    for (const fk of foreignKeys) {
      if (!frontier.includes(nameOf(fk.references))) continue;
      // A key from a table to itself (users.invited_by_id) is walked at level 1 only.
      if (level > 1 && nameOf(fk.table) === nameOf(fk.references)) continue;
      refs.push({
        table: fk.table,
        columns: fk.columns,
        references: fk.references,
        refColumns: fk.refColumns,
        foreignKey: fk.name,
        onDelete: fk.onDelete,
        level,
        ...mergeKeysOf(tables.get(nameOf(fk.table)), fk.columns),
      });
      if (!seen.has(nameOf(fk.table))) {
        seen.add(nameOf(fk.table));
        next.push(nameOf(fk.table));
      }
    }
    frontier = next;
  }
  for (const l of lookalikes) {
    refs.push({
      table: l.table,
      columns: [l.column],
      references: root,
      refColumns: [rootPk[0]!],
      foreignKey: undefined,
      onDelete: undefined,
      level: 1,
      ...mergeKeysOf(tables.get(nameOf(l.table)), [l.column]),
    });
  }
  return refs;
}

/** The level-1 references (what the migration re-points). */
export function directReferences(refs: readonly Reference[], root: TableName): Reference[] {
  return refs.filter((r) => r.level === 1 && nameOf(r.references) === nameOf(root));
}

/** The SQL that adds a look-alike column's missing foreign key without a long lock: NOT VALID, then VALIDATE (SHARE UPDATE EXCLUSIVE). */
export function foreignKeySuggestion(ref: Reference, quote: (t: TableName) => string, ident: (s: string) => string): { add: string; validate: string; name: string } {
  const name = `${ref.table.name}_${ref.columns.join('_')}_fkey`.slice(0, 63);
  return {
    name,
    add: `ALTER TABLE ${quote(ref.table)} ADD CONSTRAINT ${ident(name)} FOREIGN KEY (${ref.columns.map(ident).join(', ')}) REFERENCES ${quote(ref.references)} (${ref.refColumns.map(ident).join(', ')}) NOT VALID;`,
    validate: `ALTER TABLE ${quote(ref.table)} VALIDATE CONSTRAINT ${ident(name)};`,
  };
}

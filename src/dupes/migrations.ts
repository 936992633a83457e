/**
 * The migrations `drydock dupes --generate NAME` writes: reviewable SQL in drydock's format, run by
 * `drydock migrate up` / `release` like any other. Pure: the request and the catalog in, file texts out.
 *
 * 1. `<name>_prepare` (one transaction): the audit table (every row removed, every reference changed)
 *    and the groups table (surplus row -> survivor); computes the groups with the rule and refuses,
 *    changing nothing, when two rows tie for first or a foreign key appeared that it would not re-point.
 * 2. `<name>` (transaction:false): computes the groups again (the data may have changed since), merges
 *    child rows that re-pointing would make collide on a unique key, re-points every reference in
 *    batches (each batch its own short transaction under lock_timeout), then in one transaction catches
 *    up with rows written meanwhile, deletes the surplus rows and checks that no duplicate remains.
 *    Its down section restores exactly what was removed and changed, from the audit table.
 * 3. `<name>_unique_index` (transaction:false): CREATE UNIQUE INDEX CONCURRENTLY (and, if asked, the
 *    constraint USING INDEX).
 * With --add-foreign-keys, the columns that look like references get their foreign key first (NOT
 * VALID), validated once nothing points at a removed row.
 */
import { DrydockError } from '../errors.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../pg/ident.js';
import { foreignKeySuggestion, nameOf, rowIdentity } from './graph.js';
import { describeKeep } from './spec.js';
import { aliasOf, duplicateKeysSql, mapColumns, rankedSql, tableLabel, tableSql, type DupesSpec } from './sql.js';
import type { Reference, TableFact, TableName } from './types.js';

/** What the generator needs. */
export interface GenerateInput {
  spec: DupesSpec;
  /** The de-duplicated table's columns and keys. */
  root: TableFact;
  /** Every reference in the graph (levels > 1 only matter for merged rows). */
  graph: Reference[];
  /** Referencing tables' facts, by `schema.name`. */
  tables: ReadonlyMap<string, TableFact>;
  /** The migration name (normalised). */
  name: string;
  indexName: string;
  /** Also add the constraint USING INDEX. */
  constraint: boolean;
  /** Add the missing foreign keys of look-alike columns (NOT VALID, then VALIDATE). */
  addForeignKeys: boolean;
  batchSize: number;
  lockTimeoutMs: number;
  /** The command line that generated it, for the header. */
  command: string;
  generatedAt: string;
}

/** One migration file's name part and text. */
export interface GeneratedMigration {
  /** File name part after the version: `dedupe_users_email_prepare`. */
  name: string;
  text: string;
  /** What it does, in a few words. */
  summary: string;
}

/** The audit and groups tables' names (at most 63 bytes). */
export function helperTables(name: string, schema: string): { audit: TableName; groups: TableName } {
  const base = name.slice(0, 50);
  return { audit: { schema, name: `${base}_audit` }, groups: { schema, name: `${base}_groups` } };
}

const q = (t: TableName): string => quoteQualified(t.schema, t.name);
const qi = quoteIdent;

function refuse(message: string, hint: string): DrydockError {
  return new DrydockError(message, { hint });
}

function columnType(table: TableFact, column: string): string {
  const c = table.columns.find((x) => x.name === column);
  if (!c) throw refuse(`${nameOf(table)} has no column ${column}`, 'the catalog changed while drydock read it: run the command again');
  return c.type;
}

function tupleEq(left: readonly string[], right: readonly string[]): string {
  return left.length === 1 ? `${left[0]} = ${right[0]}` : `(${left.join(', ')}) = (${right.join(', ')})`;
}

/** A short label of a reference for comments and the audit table: `posts.user_id`, or the foreign key's name. */
function refLabel(r: Reference): string {
  return `${r.table.name}(${r.columns.join(', ')})`;
}

interface Ctx {
  input: GenerateInput;
  audit: string;
  groups: string;
  refs: Reference[];
  batch: string;
  lockTimeout: string;
}

/** Refuse what the generated SQL could not undo or would get wrong; checked before anything is written. */
function validate(input: GenerateInput, refs: readonly Reference[]): void {
  const { spec, root } = input;
  if (!spec.pk.length) throw refuse(`${nameOf(root)} has no primary key (nor a unique key over NOT NULL columns): drydock cannot say which rows it removes`, 'add a primary key first, or de-duplicate by hand');
  for (const r of refs) {
    const fact = input.tables.get(nameOf(r.table));
    if (!fact) throw refuse(`drydock could not read ${nameOf(r.table)}`, 'run the command again');
    if (!rowIdentity(fact)) throw refuse(`${nameOf(r.table)} has no primary key or unique key over NOT NULL columns: the down section could not find its re-pointed rows again`, `add a primary key to ${nameOf(r.table)} first`);
    if (r.unmergeableKeys.length) throw refuse(`re-pointing ${refLabel(r)} can collide on ${r.unmergeableKeys.join(', ')} (a partial or expression unique index, or a second unique key), which drydock cannot merge on`, 'merge those rows by hand in a migration before this one, then generate again');
    if (r.mergeKey) {
      // Rows pointing at a merged row are re-pointed to the row it merged into; a collision there would need a third level.
      for (const b of belowOf(input, r)) {
        const grand = input.tables.get(nameOf(b.table));
        if (!grand || !rowIdentity(grand)) throw refuse(`${nameOf(b.table)} has no primary key or unique key over NOT NULL columns: the down section could not find its re-pointed rows again`, `add a primary key to ${nameOf(b.table)} first`);
        if (b.mergeKey || b.unmergeableKeys.length) throw refuse(`${nameOf(r.table)} rows can be merged (unique ${r.mergeKey.columns.join(', ')}), and re-pointing ${refLabel(b)} to the merged rows can collide on its own unique key: drydock does not merge a third level`, `merge ${nameOf(b.table)} by hand first, then generate again`);
      }
    }
  }
}

/** References (level 2) that point at the rows of a merge-keyed child: re-pointed to the row each merged row merged into. */
function belowOf(input: Pick<GenerateInput, 'graph'>, r: Reference): Reference[] {
  return r.mergeKey ? input.graph.filter((g) => g.level === r.level + 1 && nameOf(g.references) === nameOf(r.table) && nameOf(g.table) !== nameOf(r.table)) : [];
}

/** The run-time check and the groups: the same rule as the report, refusing when it cannot resolve a group or the references changed. */
function computeGroupsSql(ctx: Ctx, when: string): string {
  const { spec } = ctx.input;
  const cols = mapColumns(spec);
  const expected = ctx.refs.filter((r) => r.foreignKey !== undefined || ctx.input.addForeignKeys).map((r) => `(${quoteLiteral(r.table.schema)}, ${quoteLiteral(r.table.name)}, ${quoteLiteral(r.foreignKey ?? lookalikeFkName(r))})`);
  const keyText = spec.key.map((k) => k.text).join(', ');
  const tieHint = `order the rule so that one row comes first (add a tie-breaker such as the primary key to --keep) and generate again; ${when}`;
  return `DO $drydock$
DECLARE
  v_unknown text;
  v_tied bigint;
  v_example text;
  v_surplus bigint;
BEGIN
  -- Foreign keys to ${tableLabel(spec.table)} that this migration does not re-point: deleting a surplus row would fail or cascade.
  SELECT string_agg(format('%s on %I.%I', con.conname, n.nspname, c.relname), ', ') INTO v_unknown
  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE con.contype = 'f' AND con.conparentid = 0 AND con.confrelid = ${quoteLiteral(q(spec.table))}::regclass
    AND (n.nspname, c.relname, con.conname) NOT IN (${expected.length ? expected.join(', ') : `(NULL::name, NULL::name, NULL::name)`});
  IF v_unknown IS NOT NULL THEN
    RAISE EXCEPTION 'drydock dupes: foreign key(s) to ${tableLabel(spec.table).replace(/'/g, "''")} that this migration does not re-point: %', v_unknown
      USING HINT = 'the schema changed since the migration was generated: run drydock dupes --generate again; ${when.replace(/'/g, "''")}';
  END IF;

  -- The groups, computed now with the rule: ${describeKeep(spec.keep, spec.pk).replace(/\n/g, ' ')}
  DELETE FROM ${ctx.groups};
  INSERT INTO ${ctx.groups} (${[...cols.map((c) => qi(`old_${c}`)), ...cols.map((c) => qi(`new_${c}`)), 'group_key', 'tied'].join(', ')})
  SELECT ${[...cols.map((c) => qi(`old_${c}`)), ...cols.map((c) => qi(`new_${c}`)), 'drydock_key::jsonb', 'drydock_rk = 1'].join(', ')}
  FROM (
${indent(rankedSql(spec, { kind: 'all-groups' }), 4)}
  ) AS drydock_ranked
  WHERE drydock_rn > 1;

  SELECT count(*), min(group_key::text) INTO v_tied, v_example FROM ${ctx.groups} WHERE tied;
  IF v_tied > 0 THEN
    RAISE EXCEPTION 'drydock dupes: % row(s) of ${tableLabel(spec.table).replace(/'/g, "''")} tie for first place in their group of duplicates on (${keyText.replace(/'/g, "''")}) under the rule, e.g. the group %: the rule cannot resolve them', v_tied, v_example
      USING HINT = '${tieHint.replace(/'/g, "''")}';
  END IF;
  SELECT count(*) INTO v_surplus FROM ${ctx.groups};
  RAISE NOTICE 'drydock dupes: % surplus row(s) of ${tableLabel(spec.table).replace(/'/g, "''")} to remove', v_surplus;
END
$drydock$;`;
}

function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

/** The name --add-foreign-keys gives a look-alike column's foreign key. */
function lookalikeFkName(r: Reference): string {
  return foreignKeySuggestion(r, q, qi).name;
}

/**
 * Rows of a merge-keyed child that re-pointing would make collide: all but one per key (the one already
 * pointing at the survivor first). Rows are found again by (tableoid, ctid): ctid alone repeats across partitions.
 */
function mergeSql(ctx: Ctx, r: Reference, limit: boolean): string {
  const mk = r.mergeKey!;
  const child = q(r.table);
  const mapped = mk.columns.map((col) => {
    const i = r.columns.indexOf(col);
    return i < 0 ? `c.${qi(col)}` : `coalesce(g.${qi(`new_${r.refColumns[i]}`)}, c.${qi(col)})`;
  });
  const refCols = r.columns.map((c) => `c.${qi(c)}`);
  const oldCols = r.refColumns.map((c) => `g.${qi(`old_${c}`)}`);
  const relevant = `(${r.columns.map((c) => `c.${qi(c)}`).join(', ')}) IN (SELECT ${r.refColumns.map((c) => qi(`old_${c}`)).join(', ')} FROM ${ctx.groups} UNION SELECT ${r.refColumns.map((c) => qi(`new_${c}`)).join(', ')} FROM ${ctx.groups})`;
  const notNull = mk.nullsNotDistinct ? '' : ` AND ${mk.columns.map((c) => `c.${qi(c)} IS NOT NULL`).join(' AND ')}`;
  const below = belowOf(ctx.input, r);
  // The child's columns the second level points at: each merged row's values (v_) and those of the row it merges into (k_).
  const carried = [...new Set(below.flatMap((b) => b.refColumns))];
  const partition = `PARTITION BY ${mapped.map((_, i) => `m${i + 1}`).join(', ')} ORDER BY drydock_kept DESC, drydock_rel, drydock_tid`;
  const secondLevel = below.map((b, i) => {
    const grand = q(b.table);
    const n = i + 1;
    return `drydock_before${n} AS (
    SELECT gc.tableoid AS drydock_rel, gc.ctid AS drydock_tid, to_jsonb(gc) AS drydock_before, ${b.refColumns.map((c, j) => `d.${qi(`k_${c}`)} AS n${j + 1}`).join(', ')}
    FROM ${grand} AS gc JOIN drydock_doomed AS d ON ${tupleEq(b.columns.map((c) => `gc.${qi(c)}`), b.refColumns.map((c) => `d.${qi(`v_${c}`)}`))}
  ), drydock_changed${n} AS (
    UPDATE ${grand} AS gc SET ${b.columns.map((c, j) => `${qi(c)} = b.n${j + 1}`).join(', ')}
    FROM drydock_before${n} AS b WHERE gc.tableoid = b.drydock_rel AND gc.ctid = b.drydock_tid
    RETURNING b.drydock_before, to_jsonb(gc) AS drydock_after
  ), drydock_audit${n} AS (
    INSERT INTO ${ctx.audit} (action, table_name, reference, row_data, new_data)
    SELECT 'repoint', ${quoteLiteral(tableLabel(b.table))}, ${quoteLiteral(refLabel(b))}, drydock_before, drydock_after FROM drydock_changed${n}
  ), `;
  });
  return `WITH drydock_candidates AS (
    SELECT c.tableoid AS drydock_rel, c.ctid AS drydock_tid, ${mapped.map((m, i) => `${m} AS m${i + 1}`).join(', ')}, (${oldCols[0]} IS NULL) AS drydock_kept${carried.map((c) => `, c.${qi(c)} AS ${qi(`v_${c}`)}`).join('')}
    FROM ${child} AS c LEFT JOIN ${ctx.groups} AS g ON ${tupleEq(refCols, oldCols)}
    WHERE ${relevant}${notNull}
  ), drydock_doomed AS (
    SELECT * FROM (
      SELECT drydock_rel, drydock_tid, row_number() OVER (${partition}) AS rn${carried.map((c) => `, ${qi(`v_${c}`)}, first_value(${qi(`v_${c}`)}) OVER (${partition}) AS ${qi(`k_${c}`)}`).join('')} FROM drydock_candidates
    ) AS ranked WHERE rn > 1${limit ? `\n    LIMIT ${ctx.batch}` : ''}
  ), ${secondLevel.join('')}drydock_gone AS (
    DELETE FROM ${child} AS c USING drydock_doomed AS d WHERE c.tableoid = d.drydock_rel AND c.ctid = d.drydock_tid
    RETURNING to_jsonb(c) AS row_data
  )
  INSERT INTO ${ctx.audit} (action, table_name, reference, row_data)
  SELECT 'merge', ${quoteLiteral(tableLabel(r.table))}, ${quoteLiteral(refLabel(r))}, row_data FROM drydock_gone`;
}

/** Point rows of a reference at their group's survivor, recording each row before and after. */
function repointSql(ctx: Ctx, r: Reference, limit: boolean): string {
  const child = q(r.table);
  const refCols = r.columns.map((c) => `c.${qi(c)}`);
  const oldCols = r.refColumns.map((c) => `g.${qi(`old_${c}`)}`);
  return `WITH drydock_batch AS (
    SELECT c.tableoid AS drydock_rel, c.ctid AS drydock_tid, to_jsonb(c) AS drydock_before, ${r.refColumns.map((c, i) => `g.${qi(`new_${c}`)} AS n${i + 1}`).join(', ')}
    FROM ${child} AS c JOIN ${ctx.groups} AS g ON ${tupleEq(refCols, oldCols)}${limit ? `\n    LIMIT ${ctx.batch}` : ''}
    FOR UPDATE OF c
  ), drydock_changed AS (
    UPDATE ${child} AS c SET ${r.columns.map((c, i) => `${qi(c)} = b.n${i + 1}`).join(', ')}
    FROM drydock_batch AS b WHERE c.tableoid = b.drydock_rel AND c.ctid = b.drydock_tid
    RETURNING b.drydock_before, to_jsonb(c) AS drydock_after
  )
  INSERT INTO ${ctx.audit} (action, table_name, reference, row_data, new_data)
  SELECT 'repoint', ${quoteLiteral(tableLabel(r.table))}, ${quoteLiteral(refLabel(r))}, drydock_before, drydock_after FROM drydock_changed`;
}

/** A loop of batches, each its own transaction under lock_timeout. */
function batchLoop(ctx: Ctx, comment: string, body: string, what: string): string {
  return `-- ${comment}
DO $drydock$
DECLARE
  v_n bigint;
  v_total bigint := 0;
BEGIN
  LOOP
    SET LOCAL lock_timeout = ${quoteLiteral(ctx.lockTimeout)};
    ${body};
    GET DIAGNOSTICS v_n = ROW_COUNT;
    COMMIT;
    v_total := v_total + v_n;
    EXIT WHEN v_n = 0;
  END LOOP;
  RAISE NOTICE 'drydock dupes: % ${what.replace(/'/g, "''")}', v_total;
END
$drydock$;`;
}

function insertColumns(t: TableFact): { list: string; overriding: string } {
  const cols = t.columns.filter((c) => !c.generated).map((c) => qi(c.name));
  return { list: cols.join(', '), overriding: t.columns.some((c) => c.identity === 'a') ? ' OVERRIDING SYSTEM VALUE' : '' };
}

function restoreRowsSql(ctx: Ctx, t: TableFact, action: 'remove' | 'merge'): string {
  const { list, overriding } = insertColumns(t);
  const cols = t.columns.filter((c) => !c.generated).map((c) => `r.${qi(c.name)}`);
  return `INSERT INTO ${q(t)} (${list})${overriding}
SELECT ${cols.join(', ')}
FROM ${ctx.audit} AS a CROSS JOIN LATERAL jsonb_populate_record(NULL::${q(t)}, a.row_data) AS r
WHERE a.action = '${action}' AND a.table_name = ${quoteLiteral(tableLabel(t))}
ORDER BY a.id;`;
}

function restoreRepointsSql(ctx: Ctx): string {
  const all = [...ctx.refs, ...ctx.refs.flatMap((r) => belowOf(ctx.input, r))];
  const branches = all.map((r, i) => {
    const fact = ctx.input.tables.get(nameOf(r.table))!;
    const identity = rowIdentity(fact)!;
    return `    ${i === 0 ? 'IF' : 'ELSIF'} v_row.table_name = ${quoteLiteral(tableLabel(r.table))} AND v_row.reference = ${quoteLiteral(refLabel(r))} THEN
      UPDATE ${q(r.table)} AS c SET ${r.columns.map((c) => `${qi(c)} = o.${qi(c)}`).join(', ')}
      FROM jsonb_populate_record(NULL::${q(r.table)}, v_row.row_data) AS o, jsonb_populate_record(NULL::${q(r.table)}, v_row.new_data) AS w
      WHERE ${tupleEq(identity.map((c) => `c.${qi(c)}`), identity.map((c) => `w.${qi(c)}`))};`;
  });
  return `DO $drydock$
DECLARE
  v_row record;
BEGIN
  FOR v_row IN SELECT * FROM ${ctx.audit} WHERE action = 'repoint' ORDER BY id DESC LOOP
${branches.join('\n')}
    ELSE
      RAISE EXCEPTION 'drydock dupes: the audit table has a change of %.% that this migration did not make', v_row.table_name, v_row.reference;
    END IF;
  END LOOP;
END
$drydock$;`;
}

function header(input: GenerateInput, lines: string[]): string {
  return [`-- Generated by \`${input.command}\` on ${input.generatedAt}.`, '-- Review it like any migration; `drydock rehearse` runs it on the production copy first.', ...lines.map((l) => (l ? `-- ${l}` : '--')), ''].join('\n');
}

/** The migrations, in the order they run. Throws DrydockError for what it cannot generate (nothing is written then). */
export function generateMigrations(input: GenerateInput): GeneratedMigration[] {
  const { spec, root } = input;
  const refs = input.graph.filter((r) => r.level === 1 && nameOf(r.references) === nameOf(spec.table));
  validate(input, refs);
  const helpers = helperTables(input.name, spec.table.schema);
  const ctx: Ctx = { input, audit: q(helpers.audit), groups: q(helpers.groups), refs, batch: String(input.batchSize), lockTimeout: `${Math.max(1, Math.round(input.lockTimeoutMs))}ms` };
  const cols = mapColumns(spec);
  const keyText = spec.key.map((k) => k.text).join(', ');
  const scope = [spec.where ? `rows where ${spec.where}` : 'every row', spec.nullsNotDistinct ? 'NULLs collide (NULLS NOT DISTINCT)' : 'NULL keys never collide'].join('; ');
  const refLines = refs.length
    ? refs.map((r) => `  ${refLabel(r)} -> ${tableLabel(r.references)}(${r.refColumns.join(', ')})${r.foreignKey ? ` (foreign key ${r.foreignKey}, ON DELETE ${(r.onDelete ?? 'no action').toUpperCase()})` : ' (no foreign key: looks like a reference)'}${r.mergeKey ? `; rows that would collide on unique (${r.mergeKey.columns.join(', ')}) are merged` : ''}`)
    : ['  (none)'];
  const about = [`Duplicates of (${keyText}) on ${tableLabel(spec.table)}: ${scope}.`, `Survivor: ${describeKeep(spec.keep, spec.pk)}.`, 'References re-pointed to the survivor:', ...refLines];
  const whenPrepare = 'nothing was changed';
  const out: GeneratedMigration[] = [];

  const lookalikes = refs.filter((r) => r.foreignKey === undefined);
  if (input.addForeignKeys && lookalikes.length) {
    const fks = lookalikes.map((r) => foreignKeySuggestion(r, q, qi));
    out.push({
      name: `${input.name}_add_foreign_keys`,
      summary: `foreign keys for ${lookalikes.map(refLabel).join(', ')} (NOT VALID: new rows are checked, old ones later)`,
      text: `${header(input, ['Columns that look like references but had no foreign key: rows pointing at a removed duplicate would be stranded.', 'NOT VALID takes a brief lock and checks only new rows; a later migration validates the old ones.'])}
-- migrate:up
${fks.map((f) => f.add).join('\n')}

-- migrate:down
${fks.map((f, i) => `ALTER TABLE ${q(lookalikes[i]!.table)} DROP CONSTRAINT ${qi(f.name)};`).join('\n')}
`,
    });
  }

  const auditDdl = `CREATE TABLE ${ctx.audit} (
  id bigserial PRIMARY KEY,
  action text NOT NULL CHECK (action IN ('remove', 'merge', 'repoint')),
  table_name text NOT NULL,
  reference text,
  row_data jsonb NOT NULL,
  new_data jsonb,
  changed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ${ctx.audit} IS ${quoteLiteral(`drydock dupes ${input.name}: every row removed (remove, merge) and every reference changed (repoint), as it was; the down section of ${input.name} restores from it`)};`;
  const groupsDdl = `CREATE TABLE ${ctx.groups} (
${cols.map((c) => `  ${qi(`old_${c}`)} ${columnType(root, c)} NOT NULL,`).join('\n')}
${cols.map((c) => `  ${qi(`new_${c}`)} ${columnType(root, c)} NOT NULL,`).join('\n')}
  group_key jsonb NOT NULL,
  tied boolean NOT NULL,
  PRIMARY KEY (${spec.pk.map((c) => qi(`old_${c}`)).join(', ')})
);
COMMENT ON TABLE ${ctx.groups} IS ${quoteLiteral(`drydock dupes ${input.name}: each surplus row of ${tableLabel(spec.table)} and its group's survivor`)};`;

  out.push({
    name: `${input.name}_prepare`,
    summary: `audit table ${tableLabel(helpers.audit)}, groups table ${tableLabel(helpers.groups)}; refuses when the rule cannot resolve a group`,
    text: `${header(input, [...about, '', 'This migration makes the audit and groups tables and computes the groups with the rule; it refuses (an', 'error, nothing changed) when two rows tie for first in a group or a foreign key to the table appeared.'])}
-- migrate:up
${auditDdl}

${groupsDdl}

${computeGroupsSql(ctx, whenPrepare)}

-- migrate:down
DROP TABLE ${ctx.groups};
DROP TABLE ${ctx.audit};
`,
  });

  const merges = refs.filter((r) => r.mergeKey);
  const steps: string[] = [computeGroupsSql(ctx, 'nothing was changed by this run')];
  for (const r of merges) {
    steps.push(batchLoop(ctx, `${refLabel(r)}: rows that re-pointing would make collide on unique (${r.mergeKey!.columns.join(', ')}) are merged: the one already pointing at the survivor stays, the others are removed (recorded)`, indent(mergeSql(ctx, r, true), 2).trimStart(), `${tableLabel(r.table)} row(s) merged`));
  }
  for (const r of refs) {
    steps.push(batchLoop(ctx, `${refLabel(r)}: re-point to the survivor, ${input.batchSize} rows per transaction`, indent(repointSql(ctx, r, true), 2).trimStart(), `${refLabel(r)} row(s) re-pointed`));
  }
  const a = aliasOf(spec);
  const keysCount = spec.key.length;
  steps.push(`-- In one transaction: catch up with rows written since the batches, delete the surplus rows, and check that
-- no duplicate remains (rows written during the run can make new ones: then nothing of this step is kept and
-- running the migration again computes the groups again).
DO $drydock$
DECLARE
  v_n bigint;
  v_left_over bigint;
  v_example text;
BEGIN
  SET LOCAL lock_timeout = ${quoteLiteral(ctx.lockTimeout)};
${[...merges.map((r) => mergeSql(ctx, r, false)), ...refs.map((r) => repointSql(ctx, r, false))].map((s) => `  ${s};`).join('\n')}
  WITH drydock_gone AS (
    DELETE FROM ${q(spec.table)} AS ${a} USING ${ctx.groups} AS g
    WHERE ${tupleEq(spec.pk.map((c) => `${a}.${qi(c)}`), spec.pk.map((c) => `g.${qi(`old_${c}`)}`))}
    RETURNING to_jsonb(${a}) AS row_data
  )
  INSERT INTO ${ctx.audit} (action, table_name, row_data)
  SELECT 'remove', ${quoteLiteral(tableLabel(spec.table))}, row_data FROM drydock_gone;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  SELECT count(*), min(json_build_array(${Array.from({ length: keysCount }, (_, i) => `k${i + 1}`).join(', ')})::text) INTO v_left_over, v_example
  FROM (${duplicateKeysSql(spec)}) AS d;
  IF v_left_over > 0 THEN
    RAISE EXCEPTION 'drydock dupes: % group(s) of duplicates on (${keyText.replace(/'/g, "''")}) remain in ${tableLabel(spec.table).replace(/'/g, "''")} after removing the surplus, e.g. %: rows were written since the groups were computed', v_left_over, v_example
      USING HINT = 'run drydock migrate up again: it computes the groups again (the rows re-pointed so far are recorded in ${tableLabel(helpers.audit).replace(/'/g, "''")}); this last step changed nothing';
  END IF;
  RAISE NOTICE 'drydock dupes: % surplus row(s) of ${tableLabel(spec.table).replace(/'/g, "''")} removed', v_n;
END
$drydock$;`);

  const restore = [
    '-- Put back exactly what the up section removed and changed, from the audit table: the removed rows as they',
    '-- were, the merged child rows, then every re-pointed reference, newest change first.',
    restoreRowsSql(ctx, root, 'remove'),
    ...merges.map((r) => restoreRowsSql(ctx, input.tables.get(nameOf(r.table))!, 'merge')),
    refs.length ? restoreRepointsSql(ctx) : '',
    `DELETE FROM ${ctx.audit};`,
    `DELETE FROM ${ctx.groups};`,
  ].filter(Boolean);

  out.push({
    name: input.name,
    summary: `merge ${merges.length ? merges.map(refLabel).join(', ') : 'nothing'}, re-point ${refs.length} reference(s) in batches of ${input.batchSize}, delete the surplus rows of ${tableLabel(spec.table)}`,
    text: `${header(input, [...about, '', 'transaction:false: each batch is its own short transaction (lock_timeout ' + ctx.lockTimeout + '), so production keeps running. If', 'it stops halfway, run it again: it computes the groups again and carries on. statement_timeout applies to', 'each DO statement as a whole: leave it unset for this migration (the default).'])}
-- migrate:up transaction:false
${steps.join('\n\n')}

-- migrate:down
${restore.join('\n\n')}
`,
  });

  if (input.addForeignKeys && lookalikes.length) {
    const fks = lookalikes.map((r) => foreignKeySuggestion(r, q, qi));
    out.push({
      name: `${input.name}_validate_foreign_keys`,
      summary: `validate the foreign keys of ${lookalikes.map(refLabel).join(', ')}`,
      text: `${header(input, ['VALIDATE CONSTRAINT reads the whole table under a SHARE UPDATE EXCLUSIVE lock: reads and writes go on.'])}
-- migrate:up
${fks.map((f) => f.validate).join('\n')}

-- migrate:down
-- Validation cannot be undone and need not be: the constraints stay (the add_foreign_keys migration drops them).
SELECT 1;
`,
    });
  }

  const indexCols = spec.key.map((k) => (k.column !== undefined ? qi(k.column) : `(${k.text})`)).join(', ');
  const canConstrain = input.constraint && !spec.where && spec.key.every((k) => k.column !== undefined);
  const indexSql = `CREATE UNIQUE INDEX CONCURRENTLY ${qi(input.indexName)} ON ${tableSql(spec.table)} (${indexCols})${spec.nullsNotDistinct ? ' NULLS NOT DISTINCT' : ''}${spec.where ? ` WHERE ${spec.where}` : ''};`;
  out.push({
    name: `${input.name}_unique_index`,
    summary: `CREATE UNIQUE INDEX CONCURRENTLY ${input.indexName}${canConstrain ? ' and the constraint USING INDEX' : ''}`,
    text: `${header(input, [`The unique index on (${keyText})${spec.where ? ` WHERE ${spec.where}` : ''}, built without blocking writes once the duplicates are gone.`, 'If it fails (a duplicate written meanwhile), drydock drops the INVALID index on the next run.'])}
-- migrate:up transaction:false
${indexSql}${canConstrain ? `\nALTER TABLE ${tableSql(spec.table)} ADD CONSTRAINT ${qi(input.indexName)} UNIQUE USING INDEX ${qi(input.indexName)};` : ''}

-- migrate:down transaction:false
${canConstrain ? `ALTER TABLE ${tableSql(spec.table)} DROP CONSTRAINT IF EXISTS ${qi(input.indexName)};\n` : ''}DROP INDEX CONCURRENTLY IF EXISTS ${quoteQualified(spec.table.schema, input.indexName)};
`,
  });
  return out;
}

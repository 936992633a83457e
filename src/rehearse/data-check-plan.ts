/**
 * Which data checks `drydock rehearse` runs before a migration, and with which SQL. Pure: parse trees
 * and the copy's catalog in, plans out (the queries are run by src/rehearse/data-checks.ts).
 *
 * A statement gets a check when existing rows of a table that exists before the migration can make it
 * fail:
 * - `unique`: CREATE UNIQUE INDEX [CONCURRENTLY] (partial, over expressions, NULLS NOT DISTINCT), ADD
 *   UNIQUE / PRIMARY KEY: duplicated keys, counted per group, as the index would see them;
 * - `not-null`: SET NOT NULL, ADD [CONSTRAINT … ] NOT NULL, ADD PRIMARY KEY [USING INDEX] (NULL keys),
 *   ADD COLUMN … NOT NULL without a value for the existing rows (every row);
 * - `type`: ALTER COLUMN … TYPE [USING …]: values that do not fit the new type (src/rehearse/data-check-sql.ts);
 * - `check`: ADD CHECK, VALIDATE CONSTRAINT of a NOT VALID one: rows where the expression is false;
 * - `foreign-key`: ADD FOREIGN KEY, VALIDATE CONSTRAINT of a NOT VALID one, ADD COLUMN … REFERENCES
 *   with a default: rows whose keys have no match (MATCH SIMPLE: a NULL key passes).
 *
 * The statements are walked by the linter (src/lint/lint.ts) with a rule that reports nothing: the
 * same parse, the same DO-block handling, and the same knowledge of what the migration created before
 * each statement (ctx.isExisting) and of column types (ctx.knownColumnType) as the lint rules have.
 * Expressions are put in the queries as written, cut out of the statement's text and checked by
 * parsing them again (src/sql/expression-text.ts). Columns the migration adds itself are not checked:
 * they hold no data before it runs.
 */
import { asKind, showIdent, showRelation, showType, stringList, typeInfo, walk, type ColumnDefNode, type ConstraintNode, type PgNode, type RangeVar, type TypeInfo, type TypeNameNode } from '../lint/ast.js';
import { lintMigration } from '../lint/lint.js';
import { requiredWithoutValue } from '../lint/rules/adding-required-field.js';
import { addedColumns, existingTableCommands } from '../lint/rules/shared.js';
import { SchemaModel, type CatalogSchema } from '../lint/schema-model.js';
import type { LintStatement, Rule, RuleContext } from '../lint/types.js';
import type { MigrationFile } from '../migrate/types.js';
import { quoteIdent } from '../pg/ident.js';
import { closingParen, expressionText, findTopLevel, isKeyword, splitTopLevel, sqlTokens, tokenAt, typeNameText, type SqlToken } from '../sql/expression-text.js';
import { SourceLocator, splitStatements } from '../sql/parse.js';
import { allRowsSql, conversionSql, countSql, orphansSql, relationSql, typeFit, uniqueSql, type UniqueKey } from './data-check-sql.js';

/** What a data check looks for. */
export type DataCheckKind = 'unique' | 'not-null' | 'type' | 'check' | 'foreign-key';

/** What the checks need from the copy's catalog besides the lint schema model. */
export interface DataCheckCatalog {
  /** Unique indexes (primary keys among them) and their key columns (null for an expression). */
  keys: Array<{ schema: string; table: string; index: string; primary: boolean; columns: Array<string | null> }>;
  /** Constraints not validated yet, with their definition as pg_get_constraintdef writes it. */
  notValid: Array<{ schema: string; table: string; name: string; definition: string }>;
}

/** One check to run before a migration. */
export interface DataCheckPlan {
  /** Line of the statement in the migration file (a DO block's line for a statement inside it). */
  line: number;
  /** The statement's first line (at most 100 characters), as the statement measures show it. */
  statement: string;
  check: DataCheckKind;
  /** The table whose rows are checked, as the statement names it. */
  table: string;
  columns: string[];
  /** What the statement does, for sentences: `CREATE UNIQUE INDEX users_email_key`, `SET NOT NULL on users.email`. */
  action: string;
  /** What is wrong with a violating row, after its count: `with email NULL`, `longer than 50 characters`. */
  problem: string;
  /** The read-only query (one row: violations, groups, samples); undefined when not checked (see note). */
  sql: string | undefined;
  /** 'count': the query counts the violations; 'conversion': it only converts every value, and an error means one does not fit. */
  mode: 'count' | 'conversion';
  note?: string | undefined;
}

/** Inputs of planDataChecks: the copy as it is right before the migration. */
export interface DataCheckPlanInput {
  catalog: CatalogSchema;
  keys: DataCheckCatalog['keys'];
  notValid: DataCheckCatalog['notValid'];
  /** The server's major (ordered as majorOrder orders them): pg_input_is_valid from 16. */
  pgVersion: number;
}

/** A statement's text, its tokens and how its parse's byte offsets map to them. */
interface Source {
  text: string;
  tokens: SqlToken[];
  locator: SourceLocator;
}

function sourceOf(text: string): Source {
  return { text, tokens: sqlTokens(text), locator: new SourceLocator(text) };
}

/** The token index where a node's `location` is. */
function tokenOf(src: Source, location: number | undefined): number | undefined {
  if (location === undefined || location < 0) return undefined;
  return tokenAt(src.tokens, src.locator.indexOfByte(location));
}

/** A constraint with the fields the checks read beyond what the lint rules need. */
type Constraint = ConstraintNode & { nulls_not_distinct?: boolean; fk_matchtype?: string };

interface IndexElem {
  name?: string;
  expr?: PgNode;
  collation?: PgNode[];
}

const NOT_READ = 'not checked: drydock could not read the expression back out of the statement';

function firstLine(sql: string): string {
  const line = sql.trim().split('\n')[0]!.trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

/** Columns an expression reads (the last name of each column reference). */
function referencedColumns(expr: unknown): string[] {
  const out = new Set<string>();
  walk(expr, (kind, fields) => {
    if (kind !== 'ColumnRef') return;
    const names = stringList(fields.fields as PgNode[] | undefined);
    if (names.length) out.add(names[names.length - 1]!);
  });
  return [...out];
}

/** The text inside `CHECK ( … )` of a constraint, or undefined. */
function checkExpressionText(src: Source, constraint: Constraint): string | undefined {
  const at = tokenOf(src, constraint.location);
  if (at === undefined || !constraint.raw_expr) return undefined;
  const keyword = src.tokens.findIndex((t, i) => i >= at && isKeyword(t, 'CHECK'));
  if (keyword < 0 || src.tokens[keyword + 1]?.text !== '(') return undefined;
  const close = closingParen(src.tokens, keyword + 1);
  return close === undefined ? undefined : expressionText(src.text, src.tokens, keyword + 2, close, constraint.raw_expr);
}

/** The statement planner: one per migration, fed each statement with the linter's context. */
class Planner {
  readonly plans: DataCheckPlan[] = [];
  private readonly before: SchemaModel;
  /** Constraints added NOT VALID earlier in this migration, by `relname\0name`, with the text they were parsed from. */
  private readonly pending = new Map<string, { constraint: Constraint; src: Source }>();
  /** Unique indexes created earlier in this migration, by name: their key columns (null for an expression). */
  private readonly createdIndexes = new Map<string, Array<string | null>>();
  private line = 0;
  private statement = '';

  constructor(private readonly input: DataCheckPlanInput) {
    this.before = new SchemaModel(input.catalog);
  }

  /** The rule the linter runs: it reports nothing, it plans. */
  rule(): Rule {
    return {
      id: 'rehearse-data-checks',
      summary: 'plans the data checks of drydock rehearse (reports nothing)',
      severity: 'info',
      enabledByDefault: false,
      sizeAware: false,
      docs: '',
      kinds: ['AlterTableStmt', 'IndexStmt', 'DoStmt'],
      check: (stmt, ctx) => this.visit(stmt, ctx),
    };
  }

  private visit(stmt: LintStatement, ctx: RuleContext): void {
    // A statement inside a DO block fails as the DO statement: that is the line the runner reports.
    if (!stmt.inDoBlock) {
      this.line = stmt.line;
      this.statement = firstLine(stmt.text);
    }
    if (stmt.kind === 'DoStmt') return;
    // Parsed again on its own, so node locations are offsets into stmt.text.
    let parsed;
    try {
      parsed = splitStatements(stmt.text);
    } catch {
      return;
    }
    if (parsed.length !== 1 || parsed[0]!.kind !== stmt.kind) return;
    const node = ((parsed[0]!.node as PgNode)[stmt.kind] ?? {}) as PgNode;
    const src = sourceOf(stmt.text);
    const own: LintStatement = { ...stmt, node };
    if (stmt.kind === 'IndexStmt') this.index(node, src, ctx);
    else if ((node.objtype ?? 'OBJECT_TABLE') === 'OBJECT_TABLE') this.alterTable(own, src, ctx);
  }

  /** True for a table that exists before the migration and that the migration did not create. */
  private existed(rel: RangeVar | undefined, ctx: RuleContext): rel is RangeVar {
    return rel !== undefined && ctx.isExisting(rel) && this.before.exists(rel) === 'yes';
  }

  /** True when every column is in the table before the migration (one it adds holds no data yet). */
  private hadColumns(rel: RangeVar, columns: readonly string[]): boolean {
    return columns.every((c) => this.before.columnType(rel, c) !== undefined);
  }

  private add(plan: Omit<DataCheckPlan, 'line' | 'statement' | 'mode'> & { mode?: DataCheckPlan['mode'] }): void {
    this.plans.push({ line: this.line, statement: this.statement, mode: 'count', ...plan });
  }

  // -- CREATE UNIQUE INDEX --------------------------------------------------------------------

  private index(node: PgNode, src: Source, ctx: RuleContext): void {
    const rel = node.relation as RangeVar | undefined;
    const elems = ((node.indexParams as PgNode[] | undefined) ?? []).map((p) => asKind<IndexElem>(p, 'IndexElem') ?? {});
    const name = node.idxname as string | undefined;
    if (!node.unique || !rel) return;
    if (name) this.createdIndexes.set(name, elems.map((e) => e.name ?? null));
    // ON ONLY a partitioned table builds nothing (an invalid parent index); a table created here is empty.
    if (rel.inh !== true || !this.existed(rel, ctx)) return;
    // IF NOT EXISTS over an index that is there already does nothing.
    if (node.if_not_exists && name && this.before.tableOfIndex(name, rel.schemaname)) return;
    const action = `CREATE UNIQUE INDEX ${name ? showIdent(name) : `on ${showRelation(rel)}`}`;
    const used = [...elems.flatMap((e) => (e.name ? [e.name] : referencedColumns(e.expr))), ...referencedColumns(node.whereClause)];
    if (!this.hadColumns(rel, used)) return;
    const notRead = (): void => this.add({ check: 'unique', table: showRelation(rel), columns: elems.map((e) => e.name ?? '(expression)'), action, problem: '(…)', sql: undefined, note: NOT_READ });
    // The element list is the first parenthesis after the table's name.
    const at = tokenOf(src, rel.location);
    const open = at === undefined ? undefined : findTopLevel(src.tokens, at, src.tokens.length, (t) => t.kind === 'punct' && t.text === '(');
    const close = open === undefined ? undefined : closingParen(src.tokens, open);
    if (open === undefined || close === undefined) return notRead();
    const parts = splitTopLevel(src.tokens, open + 1, close);
    const keys: UniqueKey[] = [];
    const labels: string[] = [];
    for (const [i, elem] of elems.entries()) {
      const collation = elem.collation ? stringList(elem.collation).map(quoteIdent).join('.') : undefined;
      if (elem.name) {
        keys.push({ sql: quoteIdent(elem.name), collation });
        labels.push(elem.name);
        continue;
      }
      const part = parts[i];
      const text = part && elem.expr ? expressionText(src.text, src.tokens, part[0], part[1], elem.expr) : undefined;
      if (text === undefined) return notRead();
      keys.push({ sql: text, collation });
      labels.push(text);
    }
    let where: string | undefined;
    if (node.whereClause) {
      const keyword = findTopLevel(src.tokens, close + 1, src.tokens.length, (t) => isKeyword(t, 'WHERE'));
      where = keyword === undefined ? undefined : expressionText(src.text, src.tokens, keyword + 1, src.tokens.length, node.whereClause);
      if (where === undefined) return notRead();
    }
    const problem = `(${labels.map((l, i) => (elems[i]!.name ? showIdent(l) : l)).join(', ')})${where === undefined ? '' : ` where ${where}`}`;
    this.add({ check: 'unique', table: showRelation(rel), columns: labels, action, problem, sql: uniqueSql(rel, keys, where, node.nulls_not_distinct === true) });
  }

  // -- ALTER TABLE ----------------------------------------------------------------------------

  private alterTable(stmt: LintStatement, src: Source, ctx: RuleContext): void {
    const alter = existingTableCommands(stmt, ctx);
    // A table created by this migration holds no rows before it (nor does VALIDATE find any there).
    if (!alter || !this.existed(alter.table, ctx)) return;
    const rel = alter.table;
    const table = showRelation(rel);
    for (const cmd of alter.commands) {
      const constraint = asKind<Constraint>(cmd.def, 'Constraint');
      if (cmd.subtype === 'AT_AddConstraint' && constraint) {
        if (constraint.skip_validation) this.pending.set(`${rel.relname}\0${constraint.conname ?? ''}`, { constraint, src });
        else this.constraint(rel, constraint, src, undefined);
      } else if (cmd.subtype === 'AT_ValidateConstraint' && cmd.name) {
        this.validate(rel, cmd.name);
      } else if (cmd.subtype === 'AT_SetNotNull' && cmd.name && this.hadColumns(rel, [cmd.name])) {
        this.notNull(rel, [cmd.name], `SET NOT NULL on ${table}.${showIdent(cmd.name)}`);
      } else if (cmd.subtype === 'AT_AlterColumnType' && cmd.name && this.hadColumns(rel, [cmd.name])) {
        const def = asKind<ColumnDefNode>(cmd.def, 'ColumnDef');
        if (def) this.typeChange(rel, cmd.name, def, src, ctx);
      }
    }
    for (const added of addedColumns(stmt, ctx)) {
      const required = requiredWithoutValue(added);
      const what = required?.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'NOT NULL';
      if (required) {
        this.add({ check: 'not-null', table, columns: [added.name], action: `ADD COLUMN ${showIdent(added.name)} … ${what} without a default`, problem: `that would have no value for ${showIdent(added.name)}`, sql: allRowsSql(rel) });
      }
      const fk = added.constraints.find((c): c is Constraint => c.contype === 'CONSTR_FOREIGN');
      const fallback = added.constraints.find((c) => c.contype === 'CONSTR_DEFAULT' && c.raw_expr);
      if (fk && fallback) this.referencedDefault(rel, added.name, added.column, fk, fallback, src, ctx);
    }
  }

  /** VALIDATE CONSTRAINT: the constraint added NOT VALID earlier in this migration, else in the catalog. */
  private validate(rel: RangeVar, name: string): void {
    const action = `VALIDATE CONSTRAINT ${showIdent(name)}`;
    const here = this.pending.get(`${rel.relname}\0${name}`);
    if (here) return this.constraint(rel, here.constraint, here.src, action);
    const found = this.input.notValid.filter((c) => c.name === name && c.table === rel.relname && (rel.schemaname ? c.schema === rel.schemaname : true));
    const known = found.length > 1 ? found.filter((c) => c.schema === 'public') : found;
    if (known.length !== 1) return;
    // The definition, parsed as the ADD CONSTRAINT that made it.
    const src = sourceOf(`ALTER TABLE x ADD CONSTRAINT ${quoteIdent(name)} ${known[0]!.definition}`);
    try {
      const parsed = splitStatements(src.text)[0]?.node as { AlterTableStmt?: { cmds?: PgNode[] } } | undefined;
      const cmd = asKind<{ def?: PgNode }>(parsed?.AlterTableStmt?.cmds?.[0], 'AlterTableCmd');
      const constraint = asKind<Constraint>(cmd?.def, 'Constraint');
      if (constraint) this.constraint(rel, constraint, src, action);
    } catch {
      // A definition this parser does not read (a newer server's syntax): nothing to check with.
    }
  }

  /** A constraint being added (or validated, with `action`) on `rel`. */
  private constraint(rel: RangeVar, constraint: Constraint, src: Source, validating: string | undefined): void {
    const table = showRelation(rel);
    const named = (kind: string): string => validating ?? (constraint.conname ? `ADD CONSTRAINT ${showIdent(constraint.conname)} ${kind}` : `ADD ${kind}`);
    switch (constraint.contype) {
      case 'CONSTR_UNIQUE':
      case 'CONSTR_PRIMARY': {
        const primary = constraint.contype === 'CONSTR_PRIMARY';
        const kind = primary ? 'PRIMARY KEY' : 'UNIQUE';
        if (constraint.indexname) {
          // USING INDEX: the index is unique already; a primary key also needs its columns without NULLs.
          if (!primary) return;
          const columns = this.indexColumns(rel, constraint.indexname);
          const action = named(`${kind} USING INDEX ${showIdent(constraint.indexname)}`);
          if (!columns) return this.add({ check: 'not-null', table, columns: [], action, problem: 'with a NULL key', sql: undefined, note: `not checked: the columns of index ${showIdent(constraint.indexname)} are not known` });
          if (columns.every((c): c is string => c !== null) && this.hadColumns(rel, columns)) this.notNull(rel, columns, action);
          return;
        }
        const keys = stringList(constraint.keys);
        if (!keys.length || !this.hadColumns(rel, keys)) return;
        const action = named(`${kind} (${keys.map(showIdent).join(', ')})`);
        this.add({ check: 'unique', table, columns: keys, action, problem: `(${keys.map(showIdent).join(', ')})`, sql: uniqueSql(rel, keys.map((k) => ({ sql: quoteIdent(k) })), undefined, constraint.nulls_not_distinct === true) });
        if (primary) this.notNull(rel, keys, action);
        return;
      }
      case 'CONSTR_NOTNULL': {
        const column = stringList(constraint.keys)[0];
        if (column && this.hadColumns(rel, [column])) this.notNull(rel, [column], named(`NOT NULL ${showIdent(column)}`));
        return;
      }
      case 'CONSTR_CHECK': {
        // NOT ENFORCED (PostgreSQL 18) checks nothing.
        if (constraint.is_enforced === false || !constraint.raw_expr) return;
        const columns = referencedColumns(constraint.raw_expr);
        if (!this.hadColumns(rel, columns)) return;
        const base = { check: 'check' as const, table, columns, action: named('CHECK'), problem: 'violating it' };
        const expr = checkExpressionText(src, constraint);
        if (expr === undefined) return this.add({ ...base, sql: undefined, note: NOT_READ });
        // NOT (expr): a row passes when the expression is true or NULL, as a CHECK constraint does.
        const from = relationSql(rel);
        this.add({ ...base, sql: countSql(from, `NOT (${expr})`, columns.map(quoteIdent)) });
        return;
      }
      case 'CONSTR_FOREIGN': {
        if (constraint.is_enforced === false || !constraint.pktable) return;
        const columns = stringList(constraint.fk_attrs);
        const ref = constraint.pktable;
        const base = { check: 'foreign-key' as const, table, columns, action: named('FOREIGN KEY') };
        if (!this.hadColumns(rel, columns) || this.before.exists(ref) !== 'yes') return;
        const refColumns = constraint.pk_attrs?.length ? stringList(constraint.pk_attrs) : this.primaryKey(ref);
        const problem = `whose (${columns.map(showIdent).join(', ')}) has no match in ${showRelation(ref)}${refColumns ? ` (${refColumns.map(showIdent).join(', ')})` : ''}`;
        if (!refColumns || refColumns.length !== columns.length) return this.add({ ...base, problem, sql: undefined, note: `not checked: the primary key of ${showRelation(ref)} is not known` });
        this.add({ ...base, problem, sql: orphansSql(rel, columns, ref, refColumns, constraint.fk_matchtype === 'f') });
        return;
      }
      default:
        return;
    }
  }

  private notNull(rel: RangeVar, columns: readonly string[], action: string): void {
    const cols = columns.map(quoteIdent);
    this.add({ check: 'not-null', table: showRelation(rel), columns: [...columns], action, problem: `with ${columns.map(showIdent).join(' or ')} NULL`, sql: countSql(relationSql(rel), cols.map((c) => `${c} IS NULL`).join(' OR ')) });
  }

  /** ADD COLUMN … DEFAULT d REFERENCES p: every existing row gets d, which must be in p. */
  private referencedDefault(rel: RangeVar, column: string, def: ColumnDefNode, fk: Constraint, fallback: ConstraintNode, src: Source, ctx: RuleContext): void {
    const ref = fk.pktable;
    if (!ref || fk.is_enforced === false || !this.existed(ref, ctx)) return;
    const refColumns = fk.pk_attrs?.length ? stringList(fk.pk_attrs) : this.primaryKey(ref);
    const action = `ADD COLUMN ${showIdent(column)} … REFERENCES ${showRelation(ref)}`;
    const base = { check: 'foreign-key' as const, table: showRelation(rel), columns: [column], action, problem: `whose default for ${showIdent(column)} has no match in ${showRelation(ref)}` };
    if (!refColumns || refColumns.length !== 1) return this.add({ ...base, sql: undefined, note: `not checked: the primary key of ${showRelation(ref)} is not known` });
    // The default's text: after DEFAULT, up to the next top-level comma (the parse check finds where it ends).
    const at = tokenOf(src, def.location);
    const keyword = at === undefined ? undefined : findTopLevel(src.tokens, at, src.tokens.length, (t) => isKeyword(t, 'DEFAULT'));
    const end = keyword === undefined ? undefined : (findTopLevel(src.tokens, keyword, src.tokens.length, (t) => t.kind === 'punct' && t.text === ',') ?? src.tokens.length);
    const value = keyword === undefined || end === undefined ? undefined : expressionText(src.text, src.tokens, keyword + 1, end, fallback.raw_expr);
    if (value === undefined) return this.add({ ...base, sql: undefined, note: NOT_READ });
    const where = `NOT EXISTS (SELECT 1 FROM ${relationSql({ ...ref, inh: true }, 'p')} WHERE p.${quoteIdent(refColumns[0]!)} = (${value}))`;
    this.add({ ...base, sql: countSql(relationSql(rel, 'c'), where, [value]) });
  }

  private indexColumns(rel: RangeVar, index: string): Array<string | null> | undefined {
    const here = this.createdIndexes.get(index);
    if (here) return here;
    const found = this.input.keys.filter((k) => k.index === index && (rel.schemaname ? k.schema === rel.schemaname : true));
    return found.length === 1 ? found[0]!.columns : found.find((k) => k.schema === 'public')?.columns;
  }

  private primaryKey(ref: RangeVar): string[] | undefined {
    const found = this.input.keys.filter((k) => k.primary && k.table === ref.relname && (ref.schemaname ? k.schema === ref.schemaname : true));
    const key = found.length === 1 ? found[0] : found.find((k) => k.schema === 'public');
    return key && key.columns.every((c): c is string => c !== null) ? key.columns : undefined;
  }

  // -- ALTER COLUMN … TYPE --------------------------------------------------------------------

  private typeChange(rel: RangeVar, column: string, def: ColumnDefNode, src: Source, ctx: RuleContext): void {
    const to = typeInfo(def.typeName);
    if (!to) return;
    const label = showType(to);
    const base = { check: 'type' as const, table: showRelation(rel), columns: [column], action: `ALTER COLUMN ${showIdent(column)} TYPE ${label}` };
    const at = tokenOf(src, def.typeName?.location);
    // The type's text ends at USING, COLLATE or the next command; its USING expression at the next command.
    const end = at === undefined ? undefined : (findTopLevel(src.tokens, at, src.tokens.length, (t) => t.kind === 'punct' && t.text === ',') ?? src.tokens.length);
    const typeEnd = at === undefined || end === undefined ? undefined : (findTopLevel(src.tokens, at, end, (t) => isKeyword(t, 'USING') || isKeyword(t, 'COLLATE')) ?? end);
    const target = (at !== undefined && typeEnd !== undefined ? typeNameText(src.text, src.tokens, at, typeEnd, def.typeName) : undefined) ?? typeSql(to);
    // What is converted: the column, or the USING expression. `USING col::newtype` converts the column
    // itself; any other expression is converted as a whole, its type unknown here.
    let value = quoteIdent(column);
    let from: TypeInfo | undefined = ctx.knownColumnType(rel, column) ?? this.before.columnType(rel, column);
    if (def.raw_default) {
      const cast = asKind<{ arg?: PgNode; typeName?: TypeNameNode }>(def.raw_default, 'TypeCast');
      const castTo = typeInfo(cast?.typeName);
      const ofColumn = cast !== undefined && asKind(cast.arg, 'ColumnRef') !== undefined && referencedColumns(cast.arg)[0] === column;
      if (ofColumn && castTo && (castTo.name === 'varchar' || castTo.name === 'bpchar') && castTo.typmods.length) return; // an explicit cast cuts long strings: nothing fails
      if (!(ofColumn && castTo && sameType(castTo, to))) {
        const keyword = typeEnd === undefined || end === undefined ? undefined : findTopLevel(src.tokens, typeEnd, end, (t) => isKeyword(t, 'USING'));
        const text = keyword === undefined || end === undefined ? undefined : expressionText(src.text, src.tokens, keyword + 1, end, def.raw_default);
        if (text === undefined) return this.add({ ...base, problem: `that do not fit ${label}`, sql: undefined, note: NOT_READ });
        if (!this.hadColumns(rel, referencedColumns(def.raw_default))) return;
        value = `(${text})`;
        from = undefined;
      }
    }
    const fit = typeFit(from, to, target, value, this.input.pgVersion);
    switch (fit.kind) {
      case 'never':
        return;
      case 'count':
        return this.add({ ...base, problem: fit.problem, sql: countSql(relationSql(rel), fit.bad, [value]) });
      case 'conversion':
        return this.add({ ...base, problem: `that do not convert to ${label}`, mode: 'conversion', sql: conversionSql(rel, value, target) });
      case 'unchecked':
        return this.add({ ...base, problem: `that do not fit ${label}`, sql: undefined, note: `not checked: ${fit.note}` });
    }
  }
}

function sameType(a: TypeInfo, b: TypeInfo): boolean {
  return a.name === b.name && a.isArray === b.isArray && a.typmods.length === b.typmods.length && a.typmods.every((m, i) => m === b.typmods[i]);
}

/** A type as SQL from its parts (when its own text could not be read back). */
function typeSql(type: TypeInfo): string {
  const name = type.schema ? `${quoteIdent(type.schema)}.${quoteIdent(type.name)}` : type.name;
  return `${name}${type.typmods.length ? `(${type.typmods.join(',')})` : ''}${type.isArray ? '[]' : ''}`;
}

/**
 * The data checks for the up section of `migration`, against the copy as it is right before the
 * migration runs. The parser must be loaded (ensureParser).
 */
export function planDataChecks(migration: MigrationFile, input: DataCheckPlanInput): DataCheckPlan[] {
  const planner = new Planner(input);
  lintMigration(migration.fileName, migration, { pgVersion: input.pgVersion, model: new SchemaModel(input.catalog), rules: [planner.rule()] });
  return planner.plans;
}

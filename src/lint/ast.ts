/**
 * Small readers over libpg_query parse trees (Node form: `{ Kind: { …fields } }`). libpg_query
 * leaves out fields that hold their zero value (false, 0, '', empty lists), so every reader here
 * treats a missing field as that zero value. Nothing here does I/O.
 */

/** Any parse-tree object. */
export type PgNode = Record<string, unknown>;

/** A table (or index, view …) reference: `RangeVar`. */
export interface RangeVar {
  schemaname?: string;
  relname: string;
  /** False for `ALTER TABLE ONLY t` (left out of the tree, so undefined). */
  inh?: boolean;
  /** UTF-8 byte offset of the name in the parsed text. */
  location?: number;
}

/** A type reference: `TypeName`. */
export interface TypeNameNode {
  names?: PgNode[];
  typmods?: PgNode[];
  arrayBounds?: PgNode[];
  location?: number;
}

/** A column definition: `ColumnDef`. */
export interface ColumnDefNode {
  colname?: string;
  typeName?: TypeNameNode;
  constraints?: PgNode[];
  raw_default?: PgNode;
  location?: number;
}

/** A constraint: `Constraint`. */
export interface ConstraintNode {
  contype: string;
  conname?: string;
  /** True for `NOT VALID` (CHECK and FOREIGN KEY). */
  skip_validation?: boolean;
  raw_expr?: PgNode;
  /** `UNIQUE USING INDEX name` / `PRIMARY KEY USING INDEX name`. */
  indexname?: string;
  keys?: PgNode[];
  fk_attrs?: PgNode[];
  /** The referenced columns of a foreign key. */
  pk_attrs?: PgNode[];
  pktable?: RangeVar;
  generated_when?: string;
  /** Generated columns: 's' for STORED, 'v' for VIRTUAL (Postgres 18's default when neither is written). */
  generated_kind?: string;
  /** Set on enforced CHECK and FOREIGN KEY constraints; left out for `NOT ENFORCED` (Postgres 18). */
  is_enforced?: boolean;
  location?: number;
}

/** `NOT NULL col` as a table constraint (Postgres 18: `ADD CONSTRAINT name NOT NULL col [NOT VALID]`): its column, else undefined. */
export function notNullConstraintColumn(constraint: ConstraintNode | undefined): string | undefined {
  if (constraint?.contype !== 'CONSTR_NOTNULL') return undefined;
  return stringList(constraint.keys)[0];
}

/** One action of ALTER TABLE: `AlterTableCmd`. */
export interface AlterTableCmdNode {
  subtype: string;
  /** The column (or constraint, tablespace …) the action names. */
  name?: string;
  def?: PgNode;
  behavior?: string;
}

/** The single key of a Node-form object, e.g. 'ColumnDef' for `{ ColumnDef: {…} }`. */
export function nodeKind(node: unknown): string | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  for (const key in node) return key;
  return undefined;
}

/** The fields of `node` when it is a `{ [kind]: … }` object of that kind. */
export function asKind<T = PgNode>(node: unknown, kind: string): T | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const inner = (node as PgNode)[kind];
  return inner === undefined ? undefined : (inner as T);
}

/** The `sval` of each `String` node in a list (names, column lists). */
export function stringList(list: PgNode[] | undefined): string[] {
  const out: string[] = [];
  for (const item of list ?? []) {
    const s = asKind<{ sval?: string }>(item, 'String');
    if (s) out.push(s.sval ?? '');
  }
  return out;
}

/** The commands of an ALTER TABLE statement. */
export function alterCommands(stmt: { cmds?: PgNode[] }): AlterTableCmdNode[] {
  const out: AlterTableCmdNode[] = [];
  for (const cmd of stmt.cmds ?? []) {
    const c = asKind<AlterTableCmdNode>(cmd, 'AlterTableCmd');
    if (c) out.push(c);
  }
  return out;
}

/** The constraints of a column definition. */
export function columnConstraints(column: ColumnDefNode): ConstraintNode[] {
  const out: ConstraintNode[] = [];
  for (const c of column.constraints ?? []) {
    const constraint = asKind<ConstraintNode>(c, 'Constraint');
    if (constraint) out.push(constraint);
  }
  return out;
}

const PLAIN_IDENTIFIER = /^[a-z_][a-z0-9_$]*$/;

/** An identifier as it would be written: bare when Postgres would fold it to itself, else "quoted". */
export function showIdent(name: string): string {
  return PLAIN_IDENTIFIER.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** A relation as written in SQL: `users`, `billing.invoices`, `"User"`. */
export function showRelation(rel: RangeVar | undefined): string {
  if (!rel) return '?';
  return rel.schemaname ? `${showIdent(rel.schemaname)}.${showIdent(rel.relname)}` : showIdent(rel.relname);
}

/** A dotted name from a list of String nodes (DROP objects, type names). */
export function showNameList(names: string[]): string {
  return names.map(showIdent).join('.');
}

/** A type, simplified: its last name part (pg_catalog prefix dropped), typmods and whether it is an array. */
export interface TypeInfo {
  /** Lowercase internal name: 'int4', 'varchar', 'text', 'jsonb', 'timestamptz', or a user type. */
  name: string;
  schema: string | undefined;
  /** Numeric typmods, e.g. [255] for varchar(255), [10, 2] for numeric(10,2); [] when none. */
  typmods: number[];
  isArray: boolean;
}

/** Read a TypeName node. */
export function typeInfo(typeName: TypeNameNode | undefined): TypeInfo | undefined {
  if (!typeName) return undefined;
  const names = stringList(typeName.names);
  const name = names[names.length - 1];
  if (name === undefined) return undefined;
  const schema = names.length > 1 ? names[names.length - 2] : undefined;
  const typmods: number[] = [];
  for (const mod of typeName.typmods ?? []) {
    const value = constInteger(mod);
    if (value !== undefined) typmods.push(value);
  }
  return { name, schema: schema === 'pg_catalog' ? undefined : schema, typmods, isArray: (typeName.arrayBounds?.length ?? 0) > 0 };
}

/** How a type reads in a message: varchar(255), numeric(10,2), jsonb[]. */
export function showType(type: TypeInfo): string {
  const display: Record<string, string> = { int2: 'smallint', int4: 'integer', int8: 'bigint', bpchar: 'char', float4: 'real', float8: 'double precision', bool: 'boolean' };
  const base = `${type.schema ? `${showIdent(type.schema)}.` : ''}${display[type.name] ?? type.name}`;
  return `${base}${type.typmods.length ? `(${type.typmods.join(',')})` : ''}${type.isArray ? '[]' : ''}`;
}

/** The integer value of an `A_Const` (0 when libpg_query left the zero out), or undefined. */
export function constInteger(node: unknown): number | undefined {
  const c = asKind<{ ival?: { ival?: number } }>(node, 'A_Const');
  if (!c || c.ival === undefined) return undefined;
  return c.ival.ival ?? 0;
}

/** The string value of an `A_Const` string, or undefined. */
export function constString(node: unknown): string | undefined {
  const c = asKind<{ sval?: { sval?: string } }>(node, 'A_Const');
  if (!c || c.sval === undefined) return undefined;
  return c.sval.sval ?? '';
}

/** True for `NULL` (an A_Const with isnull), also through a cast (`NULL::text`). */
export function isNullConst(node: unknown): boolean {
  const cast = asKind<{ arg?: PgNode }>(node, 'TypeCast');
  if (cast) return isNullConst(cast.arg);
  return asKind<{ isnull?: boolean }>(node, 'A_Const')?.isnull === true;
}

/** The column name of a one-field `ColumnRef` (`email`, not `t.email`), or undefined. */
export function columnRefName(node: unknown): string | undefined {
  const ref = asKind<{ fields?: PgNode[] }>(node, 'ColumnRef');
  if (!ref) return undefined;
  const fields = stringList(ref.fields);
  return fields.length >= 1 ? fields[fields.length - 1] : undefined;
}

/** The smallest `location` found in a node or its children (the start of an expression), or undefined. */
export function firstLocation(node: unknown): number | undefined {
  let best: number | undefined;
  walk(node, (_kind, fields) => {
    const loc = fields.location;
    if (typeof loc === 'number' && loc >= 0 && (best === undefined || loc < best)) best = loc;
  });
  return best;
}

/**
 * Visit every Node-form object under `node` (depth first, parents before children). `visit` may
 * return false to skip a node's children.
 */
export function walk(node: unknown, visit: (kind: string, fields: PgNode) => boolean | void): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  for (const [key, value] of Object.entries(node as PgNode)) {
    if (value === null || typeof value !== 'object') continue;
    // Node form: a capitalized key holding the fields. Other object-valued keys are plain fields.
    const isNode = Array.isArray(value) ? false : /^[A-Z]/.test(key);
    if (isNode) {
      if (visit(key, value as PgNode) === false) continue;
    }
    walk(value, visit);
  }
}

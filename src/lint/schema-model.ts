/**
 * The schema the linter judges statements against: tables (by schema), their columns' types, their
 * indexes and constraints, and, when a database was read, their sizes. Pure data; no I/O.
 *
 * It is built from one of two sources, and then moved forward by every migration the linter walks:
 *
 * - a catalog snapshot (`CatalogSchema`, read by src/pg/queries/lint-schema.ts when a database is at
 *   hand: release, `migrate up`, `lint --url`): real column types, validated and NOT VALID
 *   constraints, indexes, row estimates and sizes. It is complete: a table it does not list does not
 *   exist yet.
 * - replay of the earlier migrations of the folder (DDL only: CREATE/ALTER/RENAME/DROP TABLE, columns,
 *   indexes, schemas, views), so a file linted alone or after `--start-after` knows the column types
 *   earlier files declared. It is partial: a table it does not list may still exist.
 */
import type { RangeVar, TypeInfo } from './ast.js';
import type { SmallTableLimits } from './settings.js';
import type { PendingConstraint } from './types.js';

/** How big a table is, as the catalog estimates it. */
export interface TableSize {
  /** pg_class.reltuples; undefined when the table was never analyzed or vacuumed. */
  rows: number | undefined;
  /** pg_total_relation_size: heap, TOAST and indexes. */
  bytes: number;
}

export { DEFAULT_SMALL_TABLE, type SmallTableLimits } from './settings.js';

/** One column as the catalog describes it (plain data, as the query returns it). */
export interface CatalogColumn {
  name: string;
  /** pg_type.typname of the column, or of the element type for arrays ('varchar', 'int4' …). */
  type: string;
  /** The type's schema, when it is not pg_catalog (enums, domains of the app). */
  typeSchema?: string | undefined;
  /** pg_attribute.atttypmod (-1 when none). */
  typmod: number;
  isArray: boolean;
}

/** One table (or view, materialized view) as the catalog describes it. */
export interface CatalogTable {
  schema: string;
  name: string;
  /** 'table' for plain and partitioned tables, 'view', 'matview', 'foreign'. */
  kind: 'table' | 'view' | 'matview' | 'foreign';
  /** pg_class.reltuples (-1 when never analyzed, on Postgres 14+). */
  rows: number;
  /** -1 when not measured (a partitioned table: its partitions hold the rows). */
  bytes: number;
  columns: CatalogColumn[];
  /** Index names. */
  indexes: string[];
  constraints: Array<{ name: string; type: 'check' | 'foreign-key' | 'unique' | 'primary-key' | 'exclusion' | 'other'; validated: boolean }>;
}

/** What the catalog query returns: every user schema and relation. */
export interface CatalogSchema {
  schemas: string[];
  tables: CatalogTable[];
}

/** A relation of the model. */
export interface TableModel {
  schema: string | undefined;
  name: string;
  kind: CatalogTable['kind'];
  columns: Map<string, TypeInfo>;
  indexes: Set<string>;
  /** Constraint name → validated. */
  constraints: Map<string, boolean>;
  size: TableSize | undefined;
}

/** Decode a catalog column's type and typmod into the TypeInfo the rules compare. */
export function catalogTypeInfo(column: CatalogColumn): TypeInfo {
  const { type, typmod } = column;
  const typmods: number[] = [];
  if (typmod >= 0) {
    if (type === 'varchar' || type === 'bpchar') typmods.push(typmod - 4);
    else if (type === 'numeric') {
      const v = typmod - 4;
      typmods.push((v >> 16) & 0xffff, v & 0xffff);
    } else if (type === 'bit' || type === 'varbit' || type === 'timestamp' || type === 'timestamptz' || type === 'time' || type === 'timetz') typmods.push(typmod);
  }
  return { name: type, schema: column.typeSchema, typmods, isArray: column.isArray };
}

const key = (schema: string | undefined, name: string): string => `${schema ?? ''}\0${name}`;

/**
 * The model. Lookups by RangeVar: a qualified name matches its schema (or a table replayed without
 * one); an unqualified one matches a table replayed without a schema, else `public`, else the only
 * table of that name.
 */
export class SchemaModel {
  /** Tables by `schema\0name` ('' schema for unqualified names seen in replay). */
  private readonly tables = new Map<string, TableModel>();
  private readonly schemas = new Set<string>();
  /** True when built from a database's catalog: a table it does not list does not exist. */
  readonly fromCatalog: boolean;
  /** Constraints added NOT VALID by earlier migrations, by `relname\0name` (carried as before). */
  readonly constraints = new Map<string, PendingConstraint>();

  constructor(catalog?: CatalogSchema) {
    this.fromCatalog = catalog !== undefined;
    if (!catalog) return;
    for (const s of catalog.schemas) this.schemas.add(s);
    for (const t of catalog.tables) {
      this.tables.set(key(t.schema, t.name), {
        schema: t.schema,
        name: t.name,
        kind: t.kind,
        columns: new Map(t.columns.map((c) => [c.name, catalogTypeInfo(c)])),
        indexes: new Set(t.indexes),
        constraints: new Map(t.constraints.map((c) => [c.name, c.validated])),
        size: t.bytes >= 0 && t.kind !== 'view' ? { rows: t.rows >= 0 ? t.rows : undefined, bytes: t.bytes } : undefined,
      });
    }
  }

  /** A deep copy (a down section works on one, so what it undoes is not seen by later migrations). */
  fork(): SchemaModel {
    const copy = new SchemaModel();
    (copy as { fromCatalog: boolean }).fromCatalog = this.fromCatalog;
    for (const s of this.schemas) copy.schemas.add(s);
    for (const [k, t] of this.tables) {
      copy.tables.set(k, { ...t, columns: new Map(t.columns), indexes: new Set(t.indexes), constraints: new Map(t.constraints) });
    }
    for (const [k, c] of this.constraints) copy.constraints.set(k, c);
    return copy;
  }

  /** The relation a name refers to, or undefined when the model does not know it. */
  table(rel: RangeVar | undefined): TableModel | undefined {
    if (!rel?.relname) return undefined;
    if (rel.schemaname) return this.tables.get(key(rel.schemaname, rel.relname)) ?? this.tables.get(key(undefined, rel.relname));
    const direct = this.tables.get(key(undefined, rel.relname)) ?? this.tables.get(key('public', rel.relname));
    if (direct) return direct;
    let only: TableModel | undefined;
    for (const t of this.tables.values()) {
      if (t.name !== rel.relname) continue;
      if (only) return undefined;
      only = t;
    }
    return only;
  }

  /** 'yes' / 'no' when the model knows whether the relation exists, 'unknown' otherwise (replay only). */
  exists(rel: RangeVar | undefined): 'yes' | 'no' | 'unknown' {
    if (this.table(rel)) return 'yes';
    return this.fromCatalog ? 'no' : 'unknown';
  }

  /** The column's type, when known. */
  columnType(rel: RangeVar | undefined, column: string): TypeInfo | undefined {
    return this.table(rel)?.columns.get(column);
  }

  /** The table's measured size (catalog only). */
  size(rel: RangeVar | undefined): TableSize | undefined {
    return this.table(rel)?.size;
  }

  /** Whether the model knows the schema exists, and the relations it holds (views included). */
  schemaContents(schema: string): { known: boolean; relations: TableModel[] } {
    const relations = [...this.tables.values()].filter((t) => t.schema === schema);
    return { known: this.fromCatalog || this.schemas.has(schema), relations };
  }

  // -- Moving the model forward (replay and the linted migrations themselves) -------------------

  /** CREATE TABLE / VIEW / … AS: a new relation (replacing any of the same name). Its size is unknown: the migration may fill it. */
  createTable(rel: RangeVar, kind: TableModel['kind'] = 'table'): TableModel {
    const existing = this.table(rel);
    if (existing && kind === 'view' && existing.kind === 'view') return existing;
    const table: TableModel = { schema: rel.schemaname, name: rel.relname, kind, columns: new Map(), indexes: new Set(), constraints: new Map(), size: undefined };
    if (existing) this.tables.delete(key(existing.schema, existing.name));
    this.tables.set(key(rel.schemaname, rel.relname), table);
    return table;
  }

  /** The table, added as known-to-exist (unknown size) when the model had not seen it. */
  private ensure(rel: RangeVar): TableModel {
    return this.table(rel) ?? this.createUnknown(rel);
  }

  private createUnknown(rel: RangeVar): TableModel {
    const table: TableModel = { schema: rel.schemaname, name: rel.relname, kind: 'table', columns: new Map(), indexes: new Set(), constraints: new Map(), size: undefined };
    this.tables.set(key(rel.schemaname, rel.relname), table);
    return table;
  }

  setColumnType(rel: RangeVar, column: string, type: TypeInfo | undefined): void {
    const table = this.ensure(rel);
    if (type) table.columns.set(column, type);
    else table.columns.delete(column);
  }

  renameColumn(rel: RangeVar, from: string, to: string): void {
    const table = this.table(rel);
    if (!table) return;
    const type = table.columns.get(from);
    table.columns.delete(from);
    if (type) table.columns.set(to, type);
  }

  dropColumn(rel: RangeVar, column: string): void {
    this.table(rel)?.columns.delete(column);
  }

  renameTable(rel: RangeVar, to: string): void {
    const table = this.table(rel);
    if (!table) return;
    this.tables.delete(key(table.schema, table.name));
    table.name = to;
    this.tables.set(key(table.schema, to), table);
  }

  dropTable(rel: RangeVar): void {
    const table = this.table(rel);
    if (table) this.tables.delete(key(table.schema, table.name));
  }

  setSchema(rel: RangeVar, schema: string): void {
    const table = this.table(rel);
    if (!table) return;
    this.tables.delete(key(table.schema, table.name));
    table.schema = schema;
    this.tables.set(key(schema, table.name), table);
  }

  addIndex(rel: RangeVar | undefined, name: string): void {
    if (rel) this.ensure(rel).indexes.add(name);
  }

  dropIndex(name: string, schema: string | undefined): void {
    for (const t of this.tables.values()) if ((!schema || t.schema === schema || !t.schema) && t.indexes.delete(name)) return;
  }

  /** The table an index belongs to, when the model knows it. */
  tableOfIndex(name: string, schema: string | undefined): TableModel | undefined {
    for (const t of this.tables.values()) if ((!schema || t.schema === schema || !t.schema) && t.indexes.has(name)) return t;
    return undefined;
  }

  addConstraint(rel: RangeVar, name: string, validated: boolean): void {
    this.ensure(rel).constraints.set(name, validated);
  }

  /** Whether a constraint exists and is validated: undefined when the model does not know it. */
  constraintValidated(rel: RangeVar, name: string): boolean | undefined {
    return this.table(rel)?.constraints.get(name);
  }

  createSchema(name: string): void {
    this.schemas.add(name);
  }

  dropSchema(name: string): void {
    this.schemas.delete(name);
    for (const [k, t] of this.tables) if (t.schema === name) this.tables.delete(k);
  }
}

/** The measured size of a table against the small-table limits: 'small', 'large' or undefined (not measured). */
export function judgeSize(size: TableSize | undefined, limits: SmallTableLimits): 'small' | 'large' | undefined {
  if (!size) return undefined;
  const rowsSmall = size.rows === undefined || size.rows <= limits.rows;
  return rowsSmall && size.bytes <= limits.bytes ? 'small' : 'large';
}

/** Bytes for people: 8 kB, 12 MB, 3.4 GB. */
export function showBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} bytes` : `${value >= 10 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** A table's size for messages: "120 rows, 48 kB" or "about 2,000,000 rows, 1.2 GB". */
export function showSize(size: TableSize): string {
  if (size.rows === undefined) return `${showBytes(size.bytes)} (never analyzed: no row estimate)`;
  const rows = Math.round(size.rows);
  return `${rows >= 1000 ? 'about ' : ''}${rows.toLocaleString('en-US')} row${rows === 1 ? '' : 's'}, ${showBytes(size.bytes)}`;
}

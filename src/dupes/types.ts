/**
 * The shapes `drydock dupes` works with: the catalog facts it reads (src/pg/queries/dupes.ts), the
 * request it validates (src/dupes/spec.ts) and the reference graph it builds (src/dupes/graph.ts).
 */

/** A table, schema-qualified. */
export interface TableName {
  schema: string;
  name: string;
}

/** A column of a table, as the catalog describes it. */
export interface ColumnFact {
  name: string;
  /** format_type(): `bigint`, `character varying(255)`. */
  type: string;
  notNull: boolean;
  /** Generated (STORED) columns cannot be inserted again: left out of restores. */
  generated: boolean;
  /** 'a' GENERATED ALWAYS AS IDENTITY, 'd' BY DEFAULT, '' none. */
  identity: string;
}

/** A unique index (a primary key among them). */
export interface UniqueIndexFact {
  name: string;
  primary: boolean;
  /** Key columns; null for an expression. */
  columns: Array<string | null>;
  /** True for a partial index (WHERE …). */
  partial: boolean;
  nullsNotDistinct: boolean;
}

/** What dupes needs to know about one table. */
export interface TableFact extends TableName {
  columns: ColumnFact[];
  uniqueIndexes: UniqueIndexFact[];
}

/** ON DELETE behaviour of a foreign key. */
export type OnDelete = 'no action' | 'restrict' | 'cascade' | 'set null' | 'set default';

/** A foreign key, as pg_constraint has it. */
export interface ForeignKeyFact {
  name: string;
  /** The referencing table. */
  table: TableName;
  columns: string[];
  /** The referenced table and its columns, in the same order. */
  references: TableName;
  refColumns: string[];
  onDelete: OnDelete;
  /** False for one added NOT VALID and not validated yet. */
  validated: boolean;
}

/** A column of another table that looks like a reference to the table (its name, its type), without a foreign key. */
export interface LookalikeFact {
  table: TableName;
  column: string;
  type: string;
}

/** One edge of the reference graph: rows of `table` point at rows of `references` through `columns`. */
export interface Reference {
  table: TableName;
  columns: string[];
  references: TableName;
  refColumns: string[];
  /** The foreign key's name; undefined for a column that looks like a reference but has none. */
  foreignKey: string | undefined;
  onDelete: OnDelete | undefined;
  /** 1: points at the de-duplicated table; 2: at a table of level 1; … */
  level: number;
  /**
   * A unique key of the referencing table that contains the reference's columns (memberships'
   * unique (user_id, room_id)): re-pointing two rows to one survivor can collide on it, so such rows
   * are merged (the duplicate one removed). Undefined when no such key exists.
   */
  mergeKey: { index: string; columns: string[]; nullsNotDistinct: boolean } | undefined;
  /** Unique keys containing the reference's columns that drydock cannot merge on (partial, over expressions). */
  unmergeableKeys: string[];
}

/** What survives in a group of duplicates. */
export type KeepRule =
  | { kind: 'oldest' | 'newest'; column: string | undefined }
  | { kind: 'most-referenced' }
  | { kind: 'order-by'; orderBy: string; expressions: string[] };

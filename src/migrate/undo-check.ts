/**
 * What an up section changes in the schema, read from its parse trees, so `migrate redo` can check
 * that the down section undoes it: every object up creates must be gone after down, every object up
 * drops must be back. Pure; the catalog lookups are in pg/queries/objects.ts.
 *
 * Only what the statements name is modelled (tables, indexes, sequences, views, columns, named
 * constraints, types, schemas, extensions, triggers, renames). Anything else that changes the schema
 * (ALTER COLUMN … SET NOT NULL, COMMENT ON, CREATE FUNCTION …) is kept as "other schema statements":
 * redo then checks, more coarsely, that down changed the schema at all.
 */
import type { Statement } from '../sql/parse.js';

/** A schema object a statement names. */
export type ObjectRef =
  | { kind: 'relation'; what: 'table' | 'index' | 'sequence' | 'view' | 'materialized view'; schema?: string | undefined; name: string }
  | { kind: 'column' | 'constraint' | 'trigger'; table: { schema?: string | undefined; name: string }; name: string }
  | { kind: 'type'; schema?: string | undefined; name: string }
  | { kind: 'schema' | 'extension'; name: string };

/** An object up creates or drops, and where. */
export interface UpEffect {
  object: ObjectRef;
  /** The migration file and the statement's line in it. */
  file: string;
  line: number;
}

/** One up section's statements, with where they come from. */
export interface UpSection {
  file: string;
  /** Line of the file where the section's SQL starts. */
  startLine: number;
  statements: Array<Pick<Statement, 'kind' | 'node' | 'line' | 'text'>>;
}

/** What up sections do to the schema, net (an object created and dropped again within them is neither). */
export interface UpEffects {
  /** Objects that exist after up and must not after down. */
  creates: UpEffect[];
  /** Objects up drops (without IF EXISTS) that must exist again after down. */
  drops: UpEffect[];
  /** Other statements that change the schema (not data, not session settings, not privileges), by file and line. */
  otherSchemaStatements: Array<{ file: string; line: number; text: string }>;
}

/** Statement kinds that do not change what a schema dump shows (data, session, maintenance, privileges and owners, which the dump leaves out). */
const NOT_SCHEMA = new Set([
  'SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt', 'TruncateStmt', 'CopyStmt',
  'VariableSetStmt', 'VariableShowStmt', 'DiscardStmt', 'TransactionStmt', 'LockStmt', 'CheckPointStmt',
  'VacuumStmt', 'ClusterStmt', 'ReindexStmt', 'RefreshMatViewStmt', 'ExplainStmt',
  'NotifyStmt', 'ListenStmt', 'UnlistenStmt', 'CallStmt', 'DoStmt', 'PrepareStmt', 'ExecuteStmt', 'DeallocateStmt',
  'GrantStmt', 'GrantRoleStmt', 'AlterDefaultPrivilegesStmt', 'AlterOwnerStmt', 'CreateRoleStmt', 'AlterRoleStmt', 'DropRoleStmt',
]);

interface RangeVar {
  schemaname?: string;
  relname?: string;
  relpersistence?: string;
}

type Node = Record<string, unknown>;

/** The one field of a `{ Kind: {...} }` node. */
function inner(node: unknown): Node {
  return (Object.values((node ?? {}) as Node)[0] ?? {}) as Node;
}

function str(node: unknown): string | undefined {
  return ((node as { String?: { sval?: string } } | undefined)?.String?.sval) ?? undefined;
}

/** ['schema', 'name'] or ['name'] from a list of String nodes. */
function names(list: unknown): string[] {
  return ((list as unknown[]) ?? []).map(str).filter((s): s is string => s !== undefined);
}

function qualified(parts: string[]): { schema?: string | undefined; name: string } | undefined {
  const name = parts[parts.length - 1];
  if (!name) return undefined;
  return { schema: parts.length > 1 ? parts[parts.length - 2] : undefined, name };
}

function tableOf(rel: RangeVar | undefined): { schema?: string | undefined; name: string } | undefined {
  return rel?.relname ? { schema: rel.schemaname || undefined, name: rel.relname } : undefined;
}

const RELATION_KINDS: Record<string, Extract<ObjectRef, { kind: 'relation' }>['what']> = {
  OBJECT_TABLE: 'table',
  OBJECT_INDEX: 'index',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'materialized view',
};

/** How an object is named in a finding: "index public.users_email_idx", "column users.nickname". */
export function describeObject(ref: ObjectRef): string {
  const q = (o: { schema?: string | undefined; name: string }) => (o.schema ? `${o.schema}.${o.name}` : o.name);
  switch (ref.kind) {
    case 'relation':
      return `${ref.what} ${q(ref)}`;
    case 'column':
    case 'constraint':
    case 'trigger':
      return `${ref.kind} ${ref.name} of ${q(ref.table)}`;
    case 'type':
      return `type ${q(ref)}`;
    default:
      return `${ref.kind} ${ref.name}`;
  }
}

/** A key that is equal for the same object named the same way. */
function keyOf(ref: ObjectRef): string {
  if (ref.kind === 'relation') return `relation:${ref.schema ?? ''}.${ref.name}`;
  return describeObject(ref);
}

/** The table an object belongs to (columns, constraints, triggers), as a relation key. */
function ownerKey(ref: ObjectRef): string | undefined {
  return 'table' in ref ? `relation:${ref.table.schema ?? ''}.${ref.table.name}` : undefined;
}

/** What one statement creates and drops (drops only without IF EXISTS count as must-exist-after-down). */
function effectsOf(
  statement: Pick<Statement, 'kind' | 'node'>,
): { creates: ObjectRef[]; drops: Array<{ ref: ObjectRef; missingOk: boolean }>; temp?: string | undefined; other?: boolean } | undefined {
  const n = inner(statement.node);
  switch (statement.kind) {
    case 'CreateStmt': {
      const rel = n.relation as RangeVar | undefined;
      const table = tableOf(rel);
      if (!table) return undefined;
      if (rel?.relpersistence === 't') return { creates: [], drops: [], temp: `relation:${table.schema ?? ''}.${table.name}` };
      return { creates: [{ kind: 'relation', what: 'table', ...table }], drops: [] };
    }
    case 'IndexStmt': {
      const table = tableOf(n.relation as RangeVar);
      if (!n.idxname || !table) return { creates: [], drops: [], other: true };
      // An index lives in its table's schema.
      return { creates: [{ kind: 'relation', what: 'index', schema: table.schema, name: n.idxname as string }], drops: [] };
    }
    case 'CreateSeqStmt': {
      const seq = tableOf(n.sequence as RangeVar);
      return seq ? { creates: [{ kind: 'relation', what: 'sequence', ...seq }], drops: [] } : undefined;
    }
    case 'ViewStmt': {
      const view = tableOf(n.view as RangeVar);
      if (!view || n.replace) return undefined;
      return { creates: [{ kind: 'relation', what: 'view', ...view }], drops: [] };
    }
    case 'CreateTableAsStmt': {
      const into = (n.into as { rel?: RangeVar } | undefined)?.rel;
      const rel = tableOf(into);
      if (!rel) return undefined;
      if (into?.relpersistence === 't') return { creates: [], drops: [], temp: `relation:${rel.schema ?? ''}.${rel.name}` };
      return { creates: [{ kind: 'relation', what: n.objtype === 'OBJECT_MATVIEW' ? 'materialized view' : 'table', ...rel }], drops: [] };
    }
    case 'CreateEnumStmt':
    case 'CompositeTypeStmt':
    case 'CreateDomainStmt': {
      const type = qualified(statement.kind === 'CompositeTypeStmt' ? [(n.typevar as RangeVar)?.schemaname, (n.typevar as RangeVar)?.relname].filter((s): s is string => Boolean(s)) : names(statement.kind === 'CreateDomainStmt' ? n.domainname : n.typeName));
      return type ? { creates: [{ kind: 'type', ...type }], drops: [] } : undefined;
    }
    case 'CreateSchemaStmt':
      return n.schemaname ? { creates: [{ kind: 'schema', name: n.schemaname as string }], drops: [] } : undefined;
    case 'CreateExtensionStmt':
      return n.extname ? { creates: [{ kind: 'extension', name: n.extname as string }], drops: [] } : undefined;
    case 'CreateTrigStmt': {
      const table = tableOf(n.relation as RangeVar);
      if (!table || !n.trigname || n.replace) return undefined;
      return { creates: [{ kind: 'trigger', table, name: n.trigname as string }], drops: [] };
    }
    case 'AlterTableStmt': {
      const table = tableOf(n.relation as RangeVar);
      if (!table || (n.objtype !== undefined && n.objtype !== 'OBJECT_TABLE')) return undefined;
      const creates: ObjectRef[] = [];
      const drops: Array<{ ref: ObjectRef; missingOk: boolean }> = [];
      let other = false;
      for (const cmd of (n.cmds as unknown[]) ?? []) {
        const c = inner(cmd);
        const def = inner(c.def);
        if (c.subtype === 'AT_AddColumn' && def.colname) creates.push({ kind: 'column', table, name: def.colname as string });
        else if (c.subtype === 'AT_AddConstraint' && def.conname) creates.push({ kind: 'constraint', table, name: def.conname as string });
        else if (c.subtype === 'AT_DropColumn' && c.name) drops.push({ ref: { kind: 'column', table, name: c.name as string }, missingOk: Boolean(c.missing_ok) });
        else if (c.subtype === 'AT_DropConstraint' && c.name) drops.push({ ref: { kind: 'constraint', table, name: c.name as string }, missingOk: Boolean(c.missing_ok) });
        else if (c.subtype !== 'AT_ChangeOwner') other = true;
      }
      return { creates, drops, other };
    }
    case 'RenameStmt': {
      const rel = tableOf(n.relation as RangeVar);
      if (!rel || !n.newname) return undefined;
      const what = RELATION_KINDS[n.renameType as string];
      if (what) return { creates: [{ kind: 'relation', what, schema: rel.schema, name: n.newname as string }], drops: [{ ref: { kind: 'relation', what, ...rel }, missingOk: Boolean(n.missing_ok) }] };
      if (n.renameType === 'OBJECT_COLUMN' && n.subname) {
        return { creates: [{ kind: 'column', table: rel, name: n.newname as string }], drops: [{ ref: { kind: 'column', table: rel, name: n.subname as string }, missingOk: Boolean(n.missing_ok) }] };
      }
      return undefined;
    }
    case 'DropStmt': {
      const what = RELATION_KINDS[n.removeType as string];
      const missingOk = Boolean(n.missing_ok);
      const objects = (n.objects as unknown[]) ?? [];
      if (what) {
        const refs = objects.map((o) => qualified(names((o as { List?: { items?: unknown[] } }).List?.items))).filter((o) => o !== undefined);
        return { creates: [], drops: refs.map((o) => ({ ref: { kind: 'relation', what, ...o }, missingOk })) };
      }
      if (n.removeType === 'OBJECT_TYPE' || n.removeType === 'OBJECT_DOMAIN') {
        const refs = objects.map((o) => qualified(names((o as { TypeName?: { names?: unknown[] } }).TypeName?.names))).filter((o) => o !== undefined);
        return { creates: [], drops: refs.map((o) => ({ ref: { kind: 'type', ...o }, missingOk })) };
      }
      if (n.removeType === 'OBJECT_SCHEMA' || n.removeType === 'OBJECT_EXTENSION') {
        const kind = n.removeType === 'OBJECT_SCHEMA' ? 'schema' : 'extension';
        return { creates: [], drops: objects.map(str).filter((s): s is string => s !== undefined).map((name) => ({ ref: { kind, name }, missingOk })) };
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** The relation a statement works on, when its parse tree names one (for statements on temporary tables). */
function relationKeyOf(statement: Pick<Statement, 'node'>): string | undefined {
  const table = tableOf(inner(statement.node).relation as RangeVar | undefined);
  return table ? `relation:${table.schema ?? ''}.${table.name}` : undefined;
}

/**
 * The net effect of up sections applied in order: an object created and later dropped (or the other
 * way round) within them cancels out, objects of temporary tables are ignored, and objects on a
 * table up creates are covered by that table.
 */
export function upEffects(sections: readonly UpSection[]): UpEffects {
  const creates = new Map<string, UpEffect>();
  const drops = new Map<string, UpEffect>();
  const temp = new Set<string>();
  const otherSchemaStatements: UpEffects['otherSchemaStatements'] = [];
  for (const section of sections) {
    for (const statement of section.statements) {
      const line = statement.line + section.startLine - 1;
      const relation = relationKeyOf(statement);
      if (relation && temp.has(relation)) continue;
      const effects = effectsOf(statement);
      if (effects?.temp) {
        temp.add(effects.temp);
        continue;
      }
      if (!effects || effects.other) {
        if (!NOT_SCHEMA.has(statement.kind)) otherSchemaStatements.push({ file: section.file, line, text: statement.text });
        if (!effects) continue;
      }
      for (const { ref, missingOk } of effects.drops) {
        const key = keyOf(ref);
        const owner = ownerKey(ref);
        if (creates.delete(key) || (owner && creates.has(owner))) continue;
        if (ref.kind === 'relation') for (const [k, e] of creates) if (ownerKey(e.object) === key) creates.delete(k);
        if (!missingOk) drops.set(key, { object: ref, file: section.file, line });
      }
      for (const ref of effects.creates) {
        const key = keyOf(ref);
        const owner = ownerKey(ref);
        // Dropped and created again: changed, not created (the coarse check covers it).
        if (drops.delete(key)) {
          otherSchemaStatements.push({ file: section.file, line, text: statement.text });
          continue;
        }
        if (owner && creates.has(owner)) continue;
        creates.set(key, { object: ref, file: section.file, line });
      }
    }
  }
  return { creates: [...creates.values()], drops: [...drops.values()], otherSchemaStatements };
}

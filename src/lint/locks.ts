/**
 * Which table locks a statement takes that block other sessions' reads or writes, from the lock
 * table in the Postgres docs: https://www.postgresql.org/docs/current/explicit-locking.html
 *
 * A lock request waits behind every conflicting lock already held, and every later request that
 * conflicts with it waits behind it: an ALTER TABLE queued behind one slow SELECT stops all traffic
 * to the table. That is why such statements need lock_timeout (require-lock-timeout), and why a
 * backfill must not run while one is held (ban-backfill-with-schema-change).
 */
import { alterCommands, asKind, stringList, type ConstraintNode, type PgNode, type RangeVar } from './ast.js';

/** Table lock modes that block reads or writes (weaker ones only block schema changes and VACUUM). */
export type BlockingLockMode = 'ACCESS EXCLUSIVE' | 'EXCLUSIVE' | 'SHARE ROW EXCLUSIVE' | 'SHARE';

/** A blocking lock on one table; `table` is undefined when the statement names none (VACUUM FULL of a whole database). */
export interface TableLock {
  table: RangeVar | undefined;
  mode: BlockingLockMode;
  /** For a lock without a table: which tables (e.g. those whose triggers a DROP … CASCADE drops). */
  tables?: string | undefined;
}

/** What a lock mode stops other sessions from doing. */
export function blockedBy(mode: BlockingLockMode): 'reads and writes' | 'writes' {
  return mode === 'ACCESS EXCLUSIVE' ? 'reads and writes' : 'writes';
}

const STRENGTH: Record<BlockingLockMode | 'SHARE UPDATE EXCLUSIVE', number> = {
  'SHARE UPDATE EXCLUSIVE': 0,
  SHARE: 1,
  'SHARE ROW EXCLUSIVE': 2,
  EXCLUSIVE: 3,
  'ACCESS EXCLUSIVE': 4,
};

/** ALTER TABLE actions that take only SHARE UPDATE EXCLUSIVE (reads and writes go on). */
const SHARE_UPDATE_EXCLUSIVE_ACTIONS = new Set([
  'AT_ValidateConstraint',
  'AT_SetStatistics',
  'AT_SetOptions',
  'AT_ResetOptions',
  'AT_SetRelOptions',
  'AT_ResetRelOptions',
  'AT_ClusterOn',
  'AT_DropCluster',
  'AT_AttachPartition',
  'AT_DetachPartitionFinalize',
]);

/** ALTER TABLE actions that take SHARE ROW EXCLUSIVE (writes wait, reads go on). */
const SHARE_ROW_EXCLUSIVE_ACTIONS = new Set([
  'AT_EnableTrig',
  'AT_EnableAlwaysTrig',
  'AT_EnableReplicaTrig',
  'AT_EnableTrigAll',
  'AT_EnableTrigUser',
  'AT_DisableTrig',
  'AT_DisableTrigAll',
  'AT_DisableTrigUser',
]);

function relationOfDropObject(object: PgNode): RangeVar | undefined {
  const names = stringList(asKind<{ items?: PgNode[] }>(object, 'List')?.items);
  const relname = names[names.length - 1];
  if (relname === undefined) return undefined;
  return names.length > 1 ? { schemaname: names[names.length - 2]!, relname } : { relname };
}

/** The relations a DROP statement names (tables, indexes …). */
export function droppedRelations(node: PgNode): RangeVar[] {
  const out: RangeVar[] = [];
  for (const object of (node.objects as PgNode[] | undefined) ?? []) {
    const rel = relationOfDropObject(object);
    if (rel) out.push(rel);
  }
  return out;
}

/** The table a trigger/rule/policy DROP names: every name but the last (`DROP TRIGGER t ON users`). */
function tableOfDroppedChild(object: PgNode): RangeVar | undefined {
  const names = stringList(asKind<{ items?: PgNode[] }>(object, 'List')?.items);
  if (names.length < 2) return undefined;
  const table = names.slice(0, -1);
  const relname = table[table.length - 1]!;
  return table.length > 1 ? { schemaname: table[table.length - 2]!, relname } : { relname };
}

function foreignKeyTargets(constraints: Iterable<ConstraintNode>): RangeVar[] {
  const out: RangeVar[] = [];
  for (const c of constraints) if (c.contype === 'CONSTR_FOREIGN' && c.pktable) out.push(c.pktable);
  return out;
}

function hasParam(node: PgNode, field: string, name: string): boolean {
  for (const p of (node[field] as PgNode[] | undefined) ?? []) {
    if (asKind<{ defname?: string }>(p, 'DefElem')?.defname === name) return true;
  }
  return false;
}

/** True when VACUUM has the FULL option (`VACUUM FULL t`, `VACUUM (FULL) t`). */
export function isVacuumFull(node: PgNode): boolean {
  return hasParam(node, 'options', 'full');
}

/** True when a REINDEX says CONCURRENTLY. */
export function isConcurrentReindex(node: PgNode): boolean {
  return hasParam(node, 'params', 'concurrently');
}

/** The statement kinds blockingLocks knows to take table locks that block reads or writes. */
export const LOCKING_STATEMENTS: readonly string[] = [
  'AlterTableStmt',
  'CreateStmt',
  'IndexStmt',
  'DropStmt',
  'RenameStmt',
  'TruncateStmt',
  'VacuumStmt',
  'ClusterStmt',
  'ReindexStmt',
  'LockStmt',
  'CreateTrigStmt',
  'RefreshMatViewStmt',
  'AlterTableMoveAllStmt',
  'CreatePolicyStmt',
  'AlterPolicyStmt',
  'ViewStmt',
];

/** Objects whose DROP … CASCADE also drops triggers, columns or tables, each under ACCESS EXCLUSIVE on its table. */
const CASCADING_DROPS: Record<string, string> = {
  OBJECT_SCHEMA: 'every table in the schema, and every table with a trigger calling one of its functions',
  OBJECT_FUNCTION: 'every table with a trigger calling the function',
  OBJECT_PROCEDURE: 'every table that depends on the procedure',
  OBJECT_ROUTINE: 'every table with a trigger calling the routine',
  OBJECT_TYPE: 'every table with a column of the type',
  OBJECT_DOMAIN: 'every table with a column of the domain',
  OBJECT_EXTENSION: "every table with a trigger or column that depends on the extension's objects",
};

/**
 * The locks a statement takes that block reads or writes, on the tables it names. Statements that
 * lock nothing (or only block other schema changes) return [].
 */
export function blockingLocks(kind: string, node: PgNode): TableLock[] {
  const relation = node.relation as RangeVar | undefined;
  switch (kind) {
    case 'AlterTableStmt': {
      let strongest: BlockingLockMode | 'SHARE UPDATE EXCLUSIVE' = 'SHARE UPDATE EXCLUSIVE';
      const constraints: ConstraintNode[] = [];
      for (const cmd of alterCommands(node)) {
        let mode: BlockingLockMode | 'SHARE UPDATE EXCLUSIVE' = 'ACCESS EXCLUSIVE';
        const constraint = asKind<ConstraintNode>(cmd.def, 'Constraint');
        if (SHARE_UPDATE_EXCLUSIVE_ACTIONS.has(cmd.subtype)) mode = 'SHARE UPDATE EXCLUSIVE';
        else if (SHARE_ROW_EXCLUSIVE_ACTIONS.has(cmd.subtype)) mode = 'SHARE ROW EXCLUSIVE';
        else if (cmd.subtype === 'AT_AddConstraint' && constraint?.contype === 'CONSTR_FOREIGN') mode = 'SHARE ROW EXCLUSIVE';
        else if (cmd.subtype === 'AT_DetachPartition' && asKind<{ concurrent?: boolean }>(cmd.def, 'PartitionCmd')?.concurrent) mode = 'SHARE UPDATE EXCLUSIVE';
        if (constraint) constraints.push(constraint);
        const column = asKind<{ constraints?: PgNode[] }>(cmd.def, 'ColumnDef');
        for (const c of column?.constraints ?? []) {
          const inner = asKind<ConstraintNode>(c, 'Constraint');
          if (inner) constraints.push(inner);
        }
        if (STRENGTH[mode] > STRENGTH[strongest]) strongest = mode;
      }
      const locks: TableLock[] = [];
      if (strongest !== 'SHARE UPDATE EXCLUSIVE') locks.push({ table: relation, mode: strongest });
      // A foreign key also takes SHARE ROW EXCLUSIVE on the table it references.
      for (const target of foreignKeyTargets(constraints)) locks.push({ table: target, mode: 'SHARE ROW EXCLUSIVE' });
      return locks;
    }
    case 'CreateStmt': {
      const constraints: ConstraintNode[] = [];
      for (const element of (node.tableElts as PgNode[] | undefined) ?? []) {
        const table = asKind<ConstraintNode>(element, 'Constraint');
        if (table) constraints.push(table);
        for (const c of asKind<{ constraints?: PgNode[] }>(element, 'ColumnDef')?.constraints ?? []) {
          const inner = asKind<ConstraintNode>(c, 'Constraint');
          if (inner) constraints.push(inner);
        }
      }
      return foreignKeyTargets(constraints).map((table) => ({ table, mode: 'SHARE ROW EXCLUSIVE' }));
    }
    case 'IndexStmt':
      return node.concurrent ? [] : [{ table: relation, mode: 'SHARE' }];
    case 'DropStmt': {
      const type = node.removeType as string | undefined;
      const objects = (node.objects as PgNode[] | undefined) ?? [];
      if (type === 'OBJECT_TABLE' || type === 'OBJECT_MATVIEW' || type === 'OBJECT_VIEW' || (type === 'OBJECT_INDEX' && !node.concurrent)) {
        return droppedRelations(node).map((table) => ({ table, mode: 'ACCESS EXCLUSIVE' }));
      }
      if (type && CASCADING_DROPS[type] && node.behavior === 'DROP_CASCADE') return [{ table: undefined, mode: 'ACCESS EXCLUSIVE', tables: CASCADING_DROPS[type] }];
      if (type === 'OBJECT_TRIGGER' || type === 'OBJECT_RULE' || type === 'OBJECT_POLICY') {
        return objects.map((o) => ({ table: tableOfDroppedChild(o), mode: 'ACCESS EXCLUSIVE' as const })).filter((l) => l.table);
      }
      return [];
    }
    case 'RenameStmt':
      return relation ? [{ table: relation, mode: 'ACCESS EXCLUSIVE' }] : [];
    case 'TruncateStmt':
      return ((node.relations as PgNode[] | undefined) ?? []).map((r) => ({ table: asKind<RangeVar>(r, 'RangeVar'), mode: 'ACCESS EXCLUSIVE' as const }));
    case 'VacuumStmt': {
      if (!isVacuumFull(node)) return [];
      const rels = ((node.rels as PgNode[] | undefined) ?? []).map((r) => asKind<{ relation?: RangeVar }>(r, 'VacuumRelation')?.relation);
      return rels.length ? rels.map((table) => ({ table, mode: 'ACCESS EXCLUSIVE' as const })) : [{ table: undefined, mode: 'ACCESS EXCLUSIVE' }];
    }
    case 'ClusterStmt':
      return [{ table: relation, mode: 'ACCESS EXCLUSIVE' }];
    case 'ReindexStmt':
      return isConcurrentReindex(node) ? [] : [{ table: relation, mode: 'ACCESS EXCLUSIVE' }];
    case 'LockStmt': {
      // LOCKMODE numbers: 5 SHARE, 6 SHARE ROW EXCLUSIVE, 7 EXCLUSIVE, 8 ACCESS EXCLUSIVE.
      const modes: Record<number, BlockingLockMode> = { 5: 'SHARE', 6: 'SHARE ROW EXCLUSIVE', 7: 'EXCLUSIVE', 8: 'ACCESS EXCLUSIVE' };
      const mode = modes[(node.mode as number | undefined) ?? 8];
      if (!mode) return [];
      return ((node.relations as PgNode[] | undefined) ?? []).map((r) => ({ table: asKind<RangeVar>(r, 'RangeVar'), mode }));
    }
    case 'CreateTrigStmt':
      return [{ table: relation, mode: 'SHARE ROW EXCLUSIVE' }];
    case 'RefreshMatViewStmt':
      return node.concurrent ? [] : [{ table: relation, mode: 'ACCESS EXCLUSIVE' }];
    case 'AlterTableMoveAllStmt':
      return [{ table: undefined, mode: 'ACCESS EXCLUSIVE' }];
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt':
      return [{ table: node.table as RangeVar | undefined, mode: 'ACCESS EXCLUSIVE' }];
    case 'ViewStmt':
      // CREATE OR REPLACE VIEW of an existing view locks it (queries reading the view wait).
      return node.replace ? [{ table: node.view as RangeVar | undefined, mode: 'ACCESS EXCLUSIVE' }] : [];
    default:
      return [];
  }
}

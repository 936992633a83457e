/**
 * Does the copy equal its source? A comparison of catalog facts (pg/queries/facts.ts) read on both sides:
 * relations and their columns, indexes and their validity, constraints and whether they are validated,
 * sequences' state, materialized views' contents, large objects. Pure: the differences it returns fail a
 * pull before the swap, naming the object. The intended differences are the `allowed` ones.
 */
import type { CatalogFacts } from '../pg/queries/facts.js';

/** Differences a copy has on purpose. */
export interface AllowedDifferences {
  /** Foreign keys left NOT VALID because their referenced table's data was excluded: `constraint NAME on schema.table`. */
  notValidConstraints: ReadonlySet<string>;
}

/** What differs between the source's facts and the copy's (empty: the copy is faithful). */
export function compareFacts(source: CatalogFacts, copy: CatalogFacts, allowed: AllowedDifferences = { notValidConstraints: new Set() }): string[] {
  const differences: string[] = [];
  for (const [k, want] of source.relations) {
    const got = copy.relations.get(k);
    if (!got) {
      differences.push(`${want.label} is missing`);
      continue;
    }
    if (got.kind !== want.kind) differences.push(`${want.label}: relkind ${want.kind} in the source, ${got.kind} in the copy`);
    for (const [column, type] of want.columns) {
      const local = got.columns.get(column);
      if (local === undefined) differences.push(`${want.label}: column ${column} is missing`);
      else if (local !== type) differences.push(`${want.label}: column ${column} is ${type} in the source, ${local} in the copy`);
    }
    for (const column of got.columns.keys()) if (!want.columns.has(column)) differences.push(`${want.label}: the copy has an extra column ${column}`);
  }
  for (const [k, got] of copy.relations) if (!source.relations.has(k)) differences.push(`the copy has ${got.label}, which the source does not`);

  // pg_dump leaves INVALID indexes out: only the source's valid ones must be there (and valid).
  for (const [k, want] of source.indexes) {
    if (!want.valid) continue;
    const got = copy.indexes.get(k);
    if (!got) differences.push(`${want.label} is missing`);
    else if (!got.valid) differences.push(`${want.label} is INVALID in the copy`);
  }
  for (const [k, got] of copy.indexes) if (!source.indexes.get(k)?.valid) differences.push(`the copy has ${got.label}, which the source does not have (valid)`);

  for (const [k, want] of source.constraints) {
    const got = copy.constraints.get(k);
    if (!got) {
      differences.push(`${want.label} is missing`);
      continue;
    }
    if (got.type !== want.type) differences.push(`${want.label}: type ${want.type} in the source, ${got.type} in the copy`);
    if (got.validated !== want.validated && !(want.validated && allowed.notValidConstraints.has(want.label))) {
      differences.push(`${want.label} is ${want.validated ? 'validated' : 'NOT VALID'} in the source, ${got.validated ? 'validated' : 'NOT VALID'} in the copy`);
    }
    if (got.deferrable !== want.deferrable) differences.push(`${want.label} is ${want.deferrable ? '' : 'not '}deferrable in the source, ${got.deferrable ? '' : 'not '}in the copy`);
  }
  for (const [k, got] of copy.constraints) if (!source.constraints.has(k)) differences.push(`the copy has ${got.label}, which the source does not`);

  for (const [k, want] of source.sequences) {
    const got = copy.sequences.get(k);
    if (!got) differences.push(`${want.label} is missing`);
    else if (got.state !== want.state) differences.push(`${want.label}: last_value/is_called ${want.state} in the source, ${got.state} in the copy`);
  }
  for (const [k, want] of source.matviews) {
    const got = copy.matviews.get(k);
    if (got && got.populated !== want.populated) differences.push(`${want.label} is ${want.populated ? 'populated' : 'not populated'} in the source, ${got.populated ? 'populated' : 'not populated'} in the copy`);
  }
  if (copy.largeObjects !== source.largeObjects) differences.push(`${source.largeObjects} large object(s) in the source, ${copy.largeObjects} in the copy`);
  return differences;
}

/**
 * Heroku Postgres plans as the emulator models them: what `pg:info` says about each (its connection
 * limit, fork/follow, rollback, Continuous Protection), from Heroku's plan documentation
 * (https://devcenter.heroku.com/articles/heroku-postgres-plans):
 *
 * - Essential (essential-0/1/2, and the legacy mini/basic): no fork, no follow, no rollback, no
 *   Continuous Protection; 20 connections (essential-2: 40); storage 1 GB / 10 GB / 32 GB.
 * - Standard, Premium, Private, Shield: fork and follow, rollback, Continuous Protection on (so
 *   `pg:backups:capture` warns that logical backups of large databases are likely to fail);
 *   120 connections on *-0, 400 on *-2, 500 from *-3 up.
 */

/** What the emulator knows of one plan. */
export interface PlanFacts {
  /** The add-on plan name, "heroku-postgresql:essential-0". */
  name: string;
  tier: 'essential' | 'standard' | 'premium' | 'private' | 'shield' | 'other';
  /** The plan's connection limit (pg:info "Connections: used/limit"). */
  connectionLimit: number;
  forkFollow: boolean;
  continuousProtection: boolean;
  /** Essential plans' storage limit, in bytes. */
  storageBytes: number | undefined;
}

const GB = 1024 ** 3;

/** Accepts "essential-0" or "heroku-postgresql:essential-0"; anything else keeps the add-on's own service prefix. */
export function planName(plan: string): string {
  return plan.includes(':') ? plan : `heroku-postgresql:${plan}`;
}

/** The facts of a plan (unknown plans: standard-like, 500 connections). */
export function planFacts(plan: string): PlanFacts {
  const name = planName(plan);
  const tierText = (name.split(':')[1] ?? '').toLowerCase();
  const [family = '', size = '0'] = tierText.split('-');
  const n = Number(size) || 0;
  if (family === 'essential' || family === 'mini' || family === 'basic' || family === 'hobby') {
    const storage = family === 'mini' ? 1 : family === 'basic' ? 10 : [1, 10, 32][n] ?? 32;
    return { name, tier: 'essential', connectionLimit: n >= 2 ? 40 : 20, forkFollow: false, continuousProtection: false, storageBytes: storage * GB };
  }
  const tier = (['standard', 'premium', 'private', 'shield'] as const).find((t) => t === family) ?? 'other';
  return { name, tier, connectionLimit: n === 0 ? 120 : n <= 2 ? 400 : 500, forkFollow: true, continuousProtection: tier !== 'other', storageBytes: undefined };
}

/** pg:info's "Connections" value: the sessions on the database now, over the plan's limit. */
export function connectionsValue(plan: string, used: number): string {
  return `${used}/${planFacts(plan).connectionLimit}`;
}

/** pg:info's "Data Size" value; Essential plans add their storage limit. */
export function dataSizeValue(plan: string, sizeText: string): string {
  const { storageBytes } = planFacts(plan);
  return storageBytes === undefined ? sizeText : `${sizeText} / ${storageBytes / GB} GB (In compliance)`;
}

/** The plan's feature entries of GET /client/v11/databases/{id}: Fork/Follow, Rollback, Continuous Protection. */
export function planFeatureEntries(plan: string): Array<{ name: string; values: string[] }> {
  const p = planFacts(plan);
  return [
    { name: 'Fork/Follow', values: [p.forkFollow ? 'Available' : 'Unsupported'] },
    { name: 'Rollback', values: [p.forkFollow ? 'earliest from 4 days ago' : 'Unsupported'] },
    { name: 'Continuous Protection', values: [p.continuousProtection ? 'On' : 'Off'] },
  ];
}

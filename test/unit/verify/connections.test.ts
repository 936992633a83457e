import { describe, expect, it } from 'vitest';

import { connectionFindings, poolDemand, sslFinding, usesPooler } from '../../../src/verify/connections.js';

describe('poolDemand', () => {
  it('adds web dynos × WEB_CONCURRENCY × pool, each other dyno, the release phase and a one-off', () => {
    const d = poolDemand({ web: 2, worker: 1, clock: 0 }, { DB_POOL: '10', WEB_CONCURRENCY: '2' });
    expect(d).toMatchObject({ pool: 10, poolFrom: 'config var DB_POOL', total: 2 * 2 * 10 + 10 + 10 + 10 });
    expect('terms' in d && d.terms).toEqual(['web 2 dynos × 2 processes × 10', 'worker 1 dyno × 10', 'release 10', 'one-off 10']);
  });

  it('reads RAILS_MAX_THREADS when no pool variable is set, and says when none is', () => {
    expect(poolDemand({ web: 1 }, { RAILS_MAX_THREADS: '5' })).toMatchObject({ total: 15, poolFrom: 'config var RAILS_MAX_THREADS' });
    const none = poolDemand({ web: 1 }, {});
    expect('unknown' in none && none.unknown).toContain('sets none of DB_POOL');
  });

  it('notices a pooler', () => {
    expect(usesPooler({ DATABASE_CONNECTION_POOL_URL: 'postgres://…' })).toBe('DATABASE_CONNECTION_POOL_URL');
    expect(usesPooler({})).toBeUndefined();
  });
});

describe('connectionFindings', () => {
  it('warns at 80 % of the limit and when pools exceed it, naming the sources', () => {
    const demand = poolDemand({ web: 2 }, { DB_POOL: '10' });
    if ('unknown' in demand) throw new Error('expected a demand');
    const found = connectionFindings({ used: 17, limit: 20, source: 'heroku pg:info (Connections)', demand }, { formation: 'heroku ps:scale (formation)' });
    expect(found.map((f) => f.check)).toEqual(['connections-near-limit', 'pool-over-limit']);
    expect(found[1]?.message).toBe("the app's pools can open 40 connections (web 2 dynos × 10 + release 10 + one-off 10) but the plan allows 20");
    expect(found[1]?.source).toContain('heroku pg:info');
    expect(connectionFindings({ used: 15, limit: 20, source: 'x' }, { formation: 'y' })).toEqual([]);
  });

  it('flags an unencrypted remote connection only', () => {
    expect(sslFinding(true, 'require', 'db')).toEqual([]);
    expect(sslFinding(false, 'disable', 'u@host/db')[0]?.message).toContain('not encrypted (sslmode disable)');
  });
});

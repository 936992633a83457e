import { describe, expect, it } from 'vitest';

import { parsePgInfoConnections, planStreams, serverLimits } from '../../../src/pull/connection-budget.js';

describe('planStreams', () => {
  const plan = (limit: number, used: number) => [{ what: 'the Heroku plan (Essential 0), heroku pg:info', limit, used }];

  it('takes at most a quarter of the free connections, the snapshot session included', () => {
    expect(planStreams(8, plan(120, 20)).streams).toBe(8); // 100 free: 25 allowed
    expect(planStreams(64, plan(120, 20)).streams).toBe(24);
    expect(planStreams(8, plan(20, 2)).streams).toBe(3); // 18 free: 4 allowed, 1 of them the snapshot
    expect(planStreams(8, plan(20, 10)).streams).toBe(1);
  });

  it('keeps at least one stream, and warns when production is nearly full', () => {
    const full = planStreams(4, plan(20, 19));
    expect(full.streams).toBe(1);
    expect(full.note).toMatch(/^production has 1 free connection\(s\) .*may fail/);
    expect(planStreams(4, plan(20, 25)).tightest?.free).toBe(0);
  });

  it('says why it copies with fewer streams than --jobs, and says nothing when it does not', () => {
    expect(planStreams(8, plan(20, 10)).note).toBe(
      'production allows 20 connections and 10 are in use (the Heroku plan (Essential 0), heroku pg:info): copying with 1 parallel stream(s) instead of 8, to take at most a quarter of the 10 free',
    );
    expect(planStreams(2, plan(120, 3)).note).toBeUndefined();
    expect(planStreams(6, [])).toEqual({ streams: 6, jobs: 6 });
  });

  it('uses the tightest of the plan, the server, the role and the database', () => {
    const limits = [
      ...plan(120, 10),
      ...serverLimits({ server: { limit: 97, used: 41 }, role: { name: 'u1', limit: 30, used: 23 }, database: { name: 'd1', limit: undefined, used: 12 } }),
    ];
    const p = planStreams(16, limits);
    // The role: 30 allowed, 22 used by others (the reading session left out): 8 free, 2 allowed.
    expect(p.tightest).toMatchObject({ what: "role u1's CONNECTION LIMIT", limit: 30, used: 22, free: 8 });
    expect(p.streams).toBe(1);
  });
});

describe('parsePgInfoConnections', () => {
  it('reads "used/limit" and nothing else', () => {
    expect(parsePgInfoConnections('5/20')).toEqual({ used: 5, limit: 20 });
    expect(parsePgInfoConnections(' 0 / 120 ')).toEqual({ used: 0, limit: 120 });
    expect(parsePgInfoConnections(undefined)).toBeUndefined();
    expect(parsePgInfoConnections('unknown')).toBeUndefined();
    expect(parsePgInfoConnections('3/0')).toBeUndefined();
  });
});

/**
 * `drydock rehearse` on the migrations `drydock dupes --generate` wrote, on a pulled copy of the issue 17
 * scenario: the unique index alone is predicted and measured to fail on the duplicates; after the
 * de-duplication it is safe, the de-duplication itself is timed and measured for blocking, and every
 * down section undoes its up section. Real PostgreSQL, real pg_dump, the built CLI.
 */
import { copyFile, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { DupesReport } from '../../src/dupes/report.js';
import type { RehearsalReport } from '../../src/rehearse/report.js';
import { runCli } from '../helpers/cli.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { seedScenario } from '../helpers/dupes.js';
import { rehearseScope } from '../helpers/rehearse.js';

let source: TestDb;
const scope = rehearseScope('drydock-dupes-rehearse-');

beforeAll(async () => {
  source = await createTestDb('dupes_reh_src');
  await seedScenario(source, 20_000);
}, 120_000);

afterAll(async () => {
  await source?.drop();
});

async function rehearse(to: string, dir: string): Promise<{ exitCode: number; doc: RehearsalReport; stderr: string }> {
  const res = await runCli(['rehearse', '--no-fresh', '--to', to, '--dir', dir, '--block-threshold', '5s', '--json'], { env: scope.env, timeoutMs: 240_000 });
  expect(res.stdout, res.stderr).toMatch(/^\{/);
  return { exitCode: res.exitCode, doc: JSON.parse(res.stdout) as RehearsalReport, stderr: res.stderr };
}

describe('drydock rehearse on generated dupes migrations', () => {
  it('flags the unique index as fails before the de-duplication and safe after it, and times and proves the de-duplication', async () => {
    const to = await scope.pulled(source.localhostUrl, 'dupes_reh');
    // Generated from the pulled copy (--to NAME), as the README tells.
    const all = await mkdtemp(join(tmpdir(), 'drydock-dupes-gen-'));
    scope.dirs.push(all);
    const gen = await runCli(['dupes', 'users', 'twitter_id', '--to', to, '--generate', 'dedupe_users_twitter_id', '--dir', all], { env: scope.env });
    expect(gen.exitCode, gen.stderr).toBe(0);
    const files = (await readdir(all)).sort();
    const found = JSON.parse((await runCli(['dupes', 'users', 'twitter_id', '--to', to, '--json'], { env: scope.env })).stdout) as DupesReport;
    expect(found.groups).toBeGreaterThan(150);
    expect(files).toHaveLength(3);

    // The unique index alone, as if someone shipped it before cleaning up.
    const indexOnly = await scope.migrationsDir({});
    await copyFile(join(all, files[2]!), join(indexOnly, files[2]!));
    const before = await rehearse(to, indexOnly);
    expect(before.exitCode).toBe(1);
    const [index] = before.doc.migrations;
    expect(index!.verdict).toBe('fails');
    expect(index!.reason).toMatch(/CREATE UNIQUE INDEX users_twitter_id_key would fail: \d+ rows share \d+ duplicated values of \(twitter_id\), e\.g\. 'tw_big' ×4/);
    expect(index!.dataChecks).toEqual([expect.objectContaining({ check: 'unique', prediction: 'fails', groups: found.groups, violations: found.rowsInGroups })]);

    // The whole set: prepare, de-duplicate, index.
    const after = await rehearse(to, all);
    expect(after.exitCode, JSON.stringify(after.doc.migrations.map((m) => [m.file, m.verdict, m.reason]))).toBe(0);
    expect(after.doc.migrations.map((m) => [m.file.replace(/^\d{14}_/, ''), m.verdict])).toEqual([
      ['dedupe_users_twitter_id_prepare.sql', 'safe'],
      ['dedupe_users_twitter_id.sql', 'safe'],
      ['dedupe_users_twitter_id_unique_index.sql', 'safe'],
    ]);
    for (const m of after.doc.migrations) {
      expect(m.durationMs).toBeGreaterThan(0);
      expect(m.blockedMs.reads).toBeLessThan(5000);
      expect(m.blockedMs.writes).toBeLessThan(5000);
    }
    expect(after.doc.migrations[2]!.dataChecks).toEqual([expect.objectContaining({ check: 'unique', prediction: 'passes', violations: 0 })]);
    expect(after.doc.reversible.ok).toBe(true);
  }, 600_000);
});

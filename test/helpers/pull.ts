/**
 * Shared pieces of the in-process pull tests: a working database holding a "previous copy", and the
 * options of a live copy from a URL.
 */
import { parseDatabaseUrl } from '../../src/pg/url.js';
import type { PullOptions } from '../../src/pipelines/pull.js';
import { adminQuery, dropTargetAndCopies, execIn, testServerUrl, uniqueDbName } from './db.js';

/** A working database holding the previous copy (a marker table no source has); `cleanups` drops it and drydock's copies of it. */
export async function previousWorkingDb(label: string, cleanups: Array<() => void | Promise<void>>): Promise<string> {
  const target = uniqueDbName(label);
  cleanups.push(() => dropTargetAndCopies(target));
  await adminQuery(`CREATE DATABASE "${target}"`);
  await execIn(target, `CREATE TABLE previous_marker (note text); INSERT INTO previous_marker VALUES ('old copy')`);
  return target;
}

/** runPull's options for a live copy of `sourceUrl` into `target` on the test server. */
export function pullOptions(sourceUrl: string, target: string, extra: Partial<PullOptions> = {}): PullOptions {
  return {
    source: { kind: 'url', url: sourceUrl },
    local: parseDatabaseUrl(testServerUrl()),
    target,
    jobs: 2,
    excludeTableData: [],
    keepSnapshot: false,
    validateForeignKeys: false,
    dryRun: false,
    dropInBackground: false,
    ...extra,
  };
}

/**
 * Runs once around the whole test run: fails fast (not skips) when the test server is missing,
 * and removes databases with the test prefix left behind by a killed run, before and after.
 */
import { adminQuery, dropLeftoverTestDbs, testServerUrl } from './db.js';

export async function setup(): Promise<void> {
  try {
    await adminQuery('SELECT 1');
  } catch (error) {
    const masked = testServerUrl().replace(/:[^:@/]*@/, ':********@');
    throw new Error(
      `the test PostgreSQL server at ${masked} is not reachable (${(error as Error).message}); ` +
        'start it (see README) or set DRYDOCK_TEST_DATABASE_URL',
    );
  }
  await dropLeftoverTestDbs();
}

export async function teardown(): Promise<void> {
  await dropLeftoverTestDbs();
}

/**
 * A URL's `options` parameter reaches drydock's own connections, as it reaches pg_dump and psql.
 */
import { afterAll, describe, expect, it } from 'vitest';

import { withClient } from '../../src/pg/client.js';
import { parseDatabaseUrl } from '../../src/pg/url.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

let db: TestDb | undefined;
afterAll(async () => db?.drop());

describe('withClient and the URL options parameter', () => {
  it('honours -c settings from the URL, with drydock’s own session settings winning on the same name', async () => {
    db = await createTestDb('url_options');
    const url = parseDatabaseUrl(`${db.url}?options=${encodeURIComponent('-c search_path=app,public -c statement_timeout=1234')}`);
    const shown = await withClient(url, async (client) => ({
      path: (await client.query<{ search_path: string }>('SHOW search_path')).rows[0]!.search_path,
      timeout: (await client.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]!.statement_timeout,
    }));
    expect(shown).toEqual({ path: 'app,public', timeout: '1234ms' });
    const merged = await withClient(url, async (client) => (await client.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]!.statement_timeout, {
      settings: { statement_timeout: '5000' },
    });
    expect(merged).toBe('5s');
  });
});

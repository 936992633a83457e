import { describe, expect, it } from 'vitest';

import { tableDataOf, tablesWithData, withoutTableData } from '../../../src/backups/toc.js';
import { alterDatabaseSetting, splitListSetting } from '../../../src/local/database-settings.js';
import { startupOptions } from '../../../src/pg/client.js';
import { copyTarget } from '../../../src/pg/pg-tools.js';

describe('names pg_restore prints unquoted', () => {
  it('reads a TABLE DATA line whose table name has spaces', () => {
    expect(tableDataOf('3412; 0 16390 TABLE DATA app order items postgres')).toEqual({
      label: 'app order items',
      candidates: [
        { schema: 'app', name: 'order items' },
        { schema: 'app order', name: 'items' },
      ],
    });
    expect(tableDataOf('3412; 0 16390 TABLE DATA public users postgres')?.candidates).toEqual([{ schema: 'public', name: 'users' }]);
    expect(tableDataOf('3412; 1259 16390 TABLE public users postgres')).toBeUndefined();
  });

  it('excludes the data of a table with spaces in its name by any pattern that names it', () => {
    const toc = ['1; 0 1 TABLE DATA app order items postgres', '2; 0 2 TABLE DATA app orders postgres'].join('\n');
    expect(withoutTableData(toc, ['order items'])).toBe('2; 0 2 TABLE DATA app orders postgres');
    expect(tablesWithData(toc).map((t) => t.label)).toEqual(['app order items', 'app orders']);
  });

  it('reads the table of a COPY line, quoted or not', () => {
    expect(copyTarget('COPY public.users (id, email) FROM stdin;')).toEqual({ schema: 'public', name: 'users' });
    expect(copyTarget('COPY app."order items" (id, "Qty") FROM stdin;')).toEqual({ schema: 'app', name: 'order items' });
    expect(copyTarget('COPY "we""ird.schema"."a.b" FROM stdin;')).toEqual({ schema: 'we"ird.schema', name: 'a.b' });
    expect(copyTarget('SELECT 1;')).toBeUndefined();
  });
});

describe('database-level settings', () => {
  it('splits list settings as Postgres stores them', () => {
    expect(splitListSetting('"$user", public')).toEqual(['$user', 'public']);
    expect(splitListSetting('app, "we""ird", "a,b"')).toEqual(['app', 'we"ird', 'a,b']);
    expect(splitListSetting('')).toEqual([]);
  });

  it('writes ALTER DATABASE … SET with each list element quoted, other values as one literal', () => {
    expect(alterDatabaseSetting('copy', 'search_path="$user", public')).toBe(`ALTER DATABASE "copy" SET "search_path" = '$user', 'public'`);
    expect(alterDatabaseSetting('copy', 'DateStyle=SQL, DMY')).toBe(`ALTER DATABASE "copy" SET "DateStyle" = 'SQL, DMY'`);
    expect(alterDatabaseSetting('copy', "app.note=it's")).toBe(`ALTER DATABASE "copy" SET "app"."note" = 'it''s'`);
  });

  it('escapes spaces and backslashes in startup options', () => {
    expect(startupOptions({ DateStyle: 'ISO, MDY', search_path: 'pg_catalog' })).toBe('-c DateStyle=ISO,\\ MDY -c search_path=pg_catalog');
  });
});

describe('archive facts', () => {
  it("reads a sequence's state from pg_restore's setval line", async () => {
    const { parseSetval } = await import('../../../src/pull/archive-facts.js');
    expect(parseSetval("SELECT pg_catalog.setval('public.users_id_seq', 50, false);")).toEqual({ schema: 'public', name: 'users_id_seq', state: '50 false' });
    expect(parseSetval(`SELECT pg_catalog.setval('app."order items_id_seq"', 7, true);`)).toEqual({ schema: 'app', name: 'order items_id_seq', state: '7 true' });
    expect(parseSetval(`SELECT pg_catalog.setval('"it''s"."s"', -3, true);`)).toEqual({ schema: "it's", name: 's', state: '-3 true' });
    expect(parseSetval('SELECT 1;')).toBeUndefined();
  });
});

describe('TOC entry types', () => {
  it('does not take an INDEX ATTACH entry for an INDEX', async () => {
    const { namedEntries } = await import('../../../src/backups/toc.js');
    const toc = ['10; 1259 1 INDEX public events_kind_idx postgres', '11; 0 0 INDEX ATTACH public events_2023_kind_idx postgres'].join('\n');
    expect(namedEntries(toc, 'INDEX').map((e) => e.label)).toEqual(['public events_kind_idx']);
  });
});

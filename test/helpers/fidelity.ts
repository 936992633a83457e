/**
 * Fidelity harness: what a database holds, as comparable plain data (`fingerprint`), and the
 * differences between two of them (`compareFingerprints`), object by object. The standard is the
 * reference copy `pg_dump -Fc | pg_restore --no-acl --no-owner` (what `heroku pg:pull` runs):
 * wherever it reproduces production, a drydock pull must too.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { createTwoFilesPatch } from 'diff';
import { execa } from 'execa';
import pg from 'pg';

import { createTestDb, testServerUrl, type TestDb } from './db.js';

// ---------------------------------------------------------------------------------------------
// Client tools

let serverMajor: number | undefined;

/** The test server's major version. */
async function testServerMajor(): Promise<number> {
  if (serverMajor === undefined) {
    const client = new pg.Client({ connectionString: testServerUrl() });
    await client.connect();
    try {
      serverMajor = Math.floor(Number((await client.query<{ v: string }>('SHOW server_version_num')).rows[0]!.v) / 10000);
    } finally {
      await client.end();
    }
  }
  return serverMajor;
}

/**
 * A client tool of the server's major: Debian's /usr/lib/postgresql/<major>/bin when it exists (as
 * the emulator's transfers and test/integration/pg-tools.test.ts use), else PATH.
 */
export async function pgTool(name: 'pg_dump' | 'pg_restore' | 'psql'): Promise<string> {
  const candidate = join('/usr/lib/postgresql', String(await testServerMajor()), 'bin', name);
  return existsSync(candidate) ? candidate : name;
}

/** The parent environment without PG* variables: only the URL decides the connection. */
function toolEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^PG/.test(k)) env[k] = v;
  return env;
}

async function runTool(name: 'pg_dump' | 'pg_restore' | 'psql', args: string[], input?: string): Promise<string> {
  const res = await execa(await pgTool(name), args, { env: toolEnv(), extendEnv: false, reject: false, ...(input === undefined ? {} : { input }), maxBuffer: 256 * 1024 * 1024 });
  if (res.exitCode !== 0) throw new Error(`${name} ${args.filter((a) => !a.startsWith('postgres')).join(' ')} failed (exit ${res.exitCode}): ${String(res.stderr).slice(0, 2000)}`);
  return String(res.stdout);
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/** Options of loading a fixture. */
export interface LoadOptions {
  /** Drop `ALTER … OWNER TO …` statements (a dump made elsewhere names roles that don't exist here). */
  stripOwners?: boolean;
  /** psql variables (-v name=value). */
  variables?: Record<string, string>;
  /** Rewrite the SQL text before loading (e.g. drop a script's own CREATE DATABASE and \\c). */
  transform?: (sql: string) => string;
}

/** A fixture's SQL text; `.gz` files are gunzipped. */
export function readFixture(path: string): string {
  const raw = readFileSync(path);
  return path.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
}

/** Run SQL text (one or more fixture files) with psql -v ON_ERROR_STOP=1, as the test server's admin. */
export async function loadSql(url: string, sql: string, options: LoadOptions = {}): Promise<void> {
  let text = options.transform ? options.transform(sql) : sql;
  if (options.stripOwners) text = text.replace(/^ALTER [A-Z ]+ .* OWNER TO .*;\s*$/gm, '');
  const vars = Object.entries(options.variables ?? {}).flatMap(([k, v]) => ['-v', `${k}=${v}`]);
  await runTool('psql', ['-X', '-q', '-o', '/dev/null', '-v', 'ON_ERROR_STOP=1', ...vars, '-d', url, '-f', '-'], text);
}

/** Create a fresh test database and load fixture files into it, in order. */
export async function createFixtureDb(label: string, files: string[], options: LoadOptions = {}): Promise<TestDb> {
  const db = await createTestDb(label);
  try {
    for (const file of files) await loadSql(db.url, readFixture(file), options);
  } catch (error) {
    await db.drop();
    throw error;
  }
  return db;
}

/** Create a fresh test database and load SQL text into it. */
export async function createSqlDb(label: string, sql: string, options: LoadOptions = {}): Promise<TestDb> {
  const db = await createTestDb(label);
  try {
    await loadSql(db.url, sql, options);
  } catch (error) {
    await db.drop();
    throw error;
  }
  return db;
}

/** The sections of a file split at `-- @class <name>` lines: name → SQL. */
export function fixtureClasses(path: string): Map<string, string> {
  const sections = new Map<string, string>();
  let name: string | undefined;
  let lines: string[] = [];
  for (const line of readFixture(path).split('\n')) {
    const m = /^-- @class (\S+)\s*$/.exec(line);
    if (m) {
      if (name) sections.set(name, lines.join('\n'));
      name = m[1]!;
      lines = [];
    } else if (name) lines.push(line);
  }
  if (name) sections.set(name, lines.join('\n'));
  return sections;
}

/**
 * The reference copy: `pg_dump -Fc` of `sourceUrl`, then `pg_restore --no-acl --no-owner` into a
 * fresh test database (exactly what `heroku pg:pull` does, through a file instead of a pipe).
 */
export async function referenceCopy(sourceUrl: string, label = 'fid_ref'): Promise<TestDb> {
  const dir = await mkdtemp(join(tmpdir(), 'drydock-fidelity-'));
  const db = await createTestDb(label);
  try {
    const file = join(dir, 'ref.dump');
    await runTool('pg_dump', ['-Fc', '--no-acl', '--no-owner', '-f', file, '-d', sourceUrl]);
    await runTool('pg_restore', ['--no-acl', '--no-owner', '--exit-on-error', '-d', db.url, file]);
    return db;
  } catch (error) {
    await db.drop();
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Fingerprints

/** One column of a table. */
export interface ColumnFacts {
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
  /** attgenerated ('s' for STORED) or ''. */
  generated: string;
  /** attidentity ('a' ALWAYS, 'd' BY DEFAULT) or ''. */
  identity: string;
  collation: string | null;
}

/** Catalog facts, keyed by qualified object names so they compare across databases. */
export interface Facts {
  /** schema.name → kind, persistence, RLS flags, columns in order, inheritance/partition parent. */
  tables: Record<string, { kind: string; persistence: string; rowSecurity: boolean; forceRowSecurity: boolean; parents: string[]; partitionBound: string | null; columns: ColumnFacts[] }>;
  indexes: Record<string, { table: string; definition: string; valid: boolean; ready: boolean }>;
  constraints: Record<string, { type: string; definition: string; validated: boolean; deferrable: boolean; deferred: boolean }>;
  sequences: Record<string, { lastValue: string; isCalled: boolean; type: string; start: string; increment: string; min: string; max: string; cycle: boolean }>;
  materializedViews: Record<string, { populated: boolean }>;
  views: Record<string, { definition: string }>;
  largeObjects: { count: number; objects: Record<string, string> };
  statistics: Record<string, { kinds: string; columns: string; hasData: boolean }>;
  eventTriggers: Record<string, { event: string; enabled: string; function: string; tags: string[] | null }>;
  triggers: Record<string, { definition: string; enabled: string }>;
  policies: Record<string, { command: string; roles: string; using: string | null; check: string | null }>;
  functions: Record<string, { definition: string }>;
  types: Record<string, { type: string }>;
  databaseSettings: string[];
  extensions: Record<string, { version: string; schema: string }>;
}

/** What a database holds. */
export interface Fingerprint {
  /** `pg_dump --schema-only --no-owner --no-acl`, normalised. */
  schema: string;
  facts: Facts;
  /** schema.name → exact row count and an order-independent checksum of the rows' text forms. */
  checksums: Record<string, { rows: number; checksum: string | null } | { error: string }>;
}

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

/** `pg_dump --schema-only` text without what differs between equal databases. */
export function normaliseSchemaDump(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\\(un)?restrict /.test(line))
    .filter((line) => !/^-- Dumped (from database|by pg_dump) version/.test(line))
    .filter((line) => !/^SET [a-z_]+ = /.test(line) && !/^SELECT pg_catalog\.set_config\('search_path'/.test(line))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The settings under which text forms are compared. */
const COMPARABLE_SESSION = `SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3; SET TimeZone = 'UTC'; SET search_path = public; SET bytea_output = hex; SET row_security = off`;

function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/**
 * The select list of a row's comparable text: every column, ordered by name, so that a copy whose
 * columns are in another order (which the column facts report) still compares by values.
 */
function rowOf(columns: readonly ColumnFacts[]): string {
  if (columns.length === 0) return 'NULL AS none';
  return [...columns].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((c) => `x.${quoteIdent(c.name)}`).join(', ');
}

/** Everything `compareFingerprints` compares, read from the database at `url` as a superuser. */
export async function fingerprint(url: string): Promise<Fingerprint> {
  const schema = normaliseSchemaDump(await runTool('pg_dump', ['--schema-only', '--no-owner', '--no-acl', '-d', url]));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(COMPARABLE_SESSION);
    const q = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> => (await client.query<T>(sql, params)).rows;
    const facts: Facts = {
      tables: {}, indexes: {}, constraints: {}, sequences: {}, materializedViews: {}, views: {}, largeObjects: { count: 0, objects: {} },
      statistics: {}, eventTriggers: {}, triggers: {}, policies: {}, functions: {}, types: {}, databaseSettings: [], extensions: {},
    };

    const rels = await q<{ oid: number; qname: string; schema: string; name: string; relkind: string; relpersistence: string; relrowsecurity: boolean; relforcerowsecurity: boolean; relispopulated: boolean; parents: string[]; bound: string | null }>(`
      SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qname, n.nspname AS schema, c.relname AS name, c.relkind, c.relpersistence,
        c.relrowsecurity, c.relforcerowsecurity, c.relispopulated,
        ARRAY(SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid ORDER BY i.inhseqno) AS parents,
        pg_get_expr(c.relpartbound, c.oid) AS bound
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_SCHEMAS} AND c.relkind IN ('r', 'p', 'm', 'v', 'S', 'f')
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 2`);
    const columns = await q<{ attrelid: number; attname: string; type: string; attnotnull: boolean; def: string | null; attgenerated: string; attidentity: string; coll: string | null }>(`
      SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def,
        a.attgenerated, a.attidentity, CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS coll
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      LEFT JOIN pg_collation co ON co.oid = a.attcollation
      WHERE ${USER_SCHEMAS} AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'm', 'v', 'f')
      ORDER BY a.attrelid, a.attnum`);
    const columnsOf = new Map<number, ColumnFacts[]>();
    for (const c of columns) {
      const list = columnsOf.get(c.attrelid) ?? [];
      list.push({ name: c.attname, type: c.type, notNull: c.attnotnull, default: c.def, generated: c.attgenerated, identity: c.attidentity, collation: c.coll });
      columnsOf.set(c.attrelid, list);
    }
    for (const r of rels) {
      if (r.relkind === 'S') {
        const [seq] = await q<{ last_value: string; is_called: boolean }>(`SELECT last_value::text, is_called FROM ${quoteIdent(r.schema)}.${quoteIdent(r.name)}`);
        const [p] = await q<{ type: string; seqstart: string; seqincrement: string; seqmin: string; seqmax: string; seqcycle: boolean }>(
          `SELECT format_type(seqtypid, NULL) AS type, seqstart::text, seqincrement::text, seqmin::text, seqmax::text, seqcycle FROM pg_sequence WHERE seqrelid = $1`, [r.oid]);
        facts.sequences[r.qname] = { lastValue: seq!.last_value, isCalled: seq!.is_called, type: p!.type, start: p!.seqstart, increment: p!.seqincrement, min: p!.seqmin, max: p!.seqmax, cycle: p!.seqcycle };
        continue;
      }
      facts.tables[r.qname] = { kind: r.relkind, persistence: r.relpersistence, rowSecurity: r.relrowsecurity, forceRowSecurity: r.relforcerowsecurity, parents: r.parents, partitionBound: r.bound, columns: columnsOf.get(r.oid) ?? [] };
      if (r.relkind === 'm') facts.materializedViews[r.qname] = { populated: r.relispopulated };
    }
    for (const v of await q<{ qname: string; def: string }>(`SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qname, pg_get_viewdef(c.oid) AS def FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMAS} AND c.relkind IN ('v', 'm')`)) {
      facts.views[v.qname] = { definition: v.def };
    }
    for (const i of await q<{ qname: string; tbl: string; def: string; indisvalid: boolean; indisready: boolean }>(`
      SELECT quote_ident(n.nspname) || '.' || quote_ident(ic.relname) AS qname, i.indrelid::regclass::text AS tbl, pg_get_indexdef(i.indexrelid) AS def, i.indisvalid, i.indisready
      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace WHERE ${USER_SCHEMAS}`)) {
      facts.indexes[i.qname] = { table: i.tbl, definition: i.def, valid: i.indisvalid, ready: i.indisready };
    }
    for (const c of await q<{ owner: string; conname: string; contype: string; def: string; convalidated: boolean; condeferrable: boolean; condeferred: boolean }>(`
      SELECT CASE WHEN con.conrelid <> 0 THEN 'table ' || con.conrelid::regclass::text ELSE 'domain ' || con.contypid::regtype::text END AS owner,
        con.conname, con.contype, pg_get_constraintdef(con.oid) AS def, con.convalidated, con.condeferrable, con.condeferred
      FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace WHERE ${USER_SCHEMAS}`)) {
      facts.constraints[`${c.owner}: ${c.conname}`] = { type: c.contype, definition: c.def, validated: c.convalidated, deferrable: c.condeferrable, deferred: c.condeferred };
    }
    const [lo] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM pg_largeobject_metadata`);
    facts.largeObjects.count = lo!.n;
    for (const o of await q<{ oid: string; md5: string }>(`SELECT oid::text, md5(lo_get(oid)) AS md5 FROM pg_largeobject_metadata ORDER BY oid`)) facts.largeObjects.objects[o.oid] = o.md5;
    for (const s of await q<{ qname: string; kinds: string; cols: string; has_data: boolean }>(`
      SELECT quote_ident(n.nspname) || '.' || quote_ident(s.stxname) AS qname, array_to_string(s.stxkind, ',') AS kinds,
        (SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = s.stxrelid AND a.attnum = ANY(s.stxkeys)) || ' ON ' || s.stxrelid::regclass::text AS cols,
        EXISTS (SELECT 1 FROM pg_statistic_ext_data d WHERE d.stxoid = s.oid) AS has_data
      FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE ${USER_SCHEMAS}`)) {
      facts.statistics[s.qname] = { kinds: s.kinds, columns: s.cols, hasData: s.has_data };
    }
    for (const e of await q<{ evtname: string; evtevent: string; evtenabled: string; fn: string; evttags: string[] | null }>(`SELECT evtname, evtevent, evtenabled, evtfoid::regproc::text AS fn, evttags FROM pg_event_trigger`)) {
      facts.eventTriggers[e.evtname] = { event: e.evtevent, enabled: e.evtenabled, function: e.fn, tags: e.evttags };
    }
    for (const t of await q<{ qname: string; def: string; tgenabled: string }>(`
      SELECT t.tgrelid::regclass::text || ': ' || t.tgname AS qname, pg_get_triggerdef(t.oid) AS def, t.tgenabled
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMAS} AND NOT t.tgisinternal`)) {
      facts.triggers[t.qname] = { definition: t.def, enabled: t.tgenabled };
    }
    for (const p of await q<{ qname: string; cmd: string; roles: string; qual: string | null; check: string | null }>(`
      SELECT schemaname || '.' || tablename || ': ' || policyname AS qname, cmd, array_to_string(roles, ',') AS roles, qual, with_check AS check FROM pg_policies`)) {
      facts.policies[p.qname] = { command: p.cmd, roles: p.roles, using: p.qual, check: p.check };
    }
    for (const f of await q<{ sig: string; def: string }>(`
      SELECT p.oid::regprocedure::text AS sig, pg_get_functiondef(p.oid) AS def FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE ${USER_SCHEMAS} AND p.prokind IN ('f', 'p', 'w')
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`)) {
      facts.functions[f.sig] = { definition: f.def };
    }
    for (const t of await q<{ name: string; typtype: string }>(`
      SELECT t.oid::regtype::text AS name, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE ${USER_SCHEMAS} AND t.typtype IN ('e', 'd', 'r', 'c', 'm') AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')`)) {
      facts.types[t.name] = { type: t.typtype };
    }
    const settings = await q<{ s: string }>(`
      SELECT unnest(setconfig) AS s FROM pg_db_role_setting WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1`);
    facts.databaseSettings = settings.map((s) => s.s);
    for (const e of await q<{ extname: string; extversion: string; nsp: string }>(`SELECT e.extname, e.extversion, n.nspname AS nsp FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace`)) {
      facts.extensions[e.extname] = { version: e.extversion, schema: e.nsp };
    }

    const checksums: Fingerprint['checksums'] = {};
    for (const r of rels) {
      if (!['r', 'm'].includes(r.relkind)) continue;
      if (r.relkind === 'm' && !r.relispopulated) continue; // no rows to read; `populated` is compared as a fact
      try {
        const [row] = await q<{ n: string; sum: string | null }>(
          `SELECT count(*) AS n, md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))) AS sum FROM (SELECT ${rowOf(columnsOf.get(r.oid) ?? [])} FROM ONLY ${quoteIdent(r.schema)}.${quoteIdent(r.name)} x) t`);
        checksums[r.qname] = { rows: Number(row!.n), checksum: row!.sum };
      } catch (error) {
        checksums[r.qname] = { error: (error as Error).message };
      }
    }
    return { schema, facts, checksums };
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Comparison

/** What a comparison may ignore: a fact family, or differences whose text matches. */
export interface AllowedGap {
  /** Why (printed nowhere; documents the list). */
  why: string;
  /** A difference line is allowed when this matches it. */
  matches: RegExp;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'string') return v.length > 120 ? JSON.stringify(v.slice(0, 117) + '...') : v;
  const s = JSON.stringify(v);
  return s.length > 160 ? s.slice(0, 157) + '...' : s;
}

/** Differences between two plain records of facts, each naming the object and field. */
function compareRecords(label: string, expected: Record<string, unknown>, actual: Record<string, unknown>, out: string[]): void {
  for (const key of Object.keys(expected).sort()) {
    if (!(key in actual)) {
      out.push(`${label} ${key}: missing`);
      continue;
    }
    const e = expected[key];
    const a = actual[key];
    if (JSON.stringify(e) === JSON.stringify(a)) continue;
    if (e && a && typeof e === 'object' && typeof a === 'object' && !Array.isArray(e)) {
      const parts: string[] = [];
      const fields = new Set([...Object.keys(e), ...Object.keys(a)]);
      for (const f of fields) {
        const ev = (e as Record<string, unknown>)[f];
        const av = (a as Record<string, unknown>)[f];
        if (JSON.stringify(ev) === JSON.stringify(av)) continue;
        if (f === 'columns' && Array.isArray(ev) && Array.isArray(av)) {
          parts.push(...describeColumns(ev as ColumnFacts[], av as ColumnFacts[]));
          continue;
        }
        parts.push(`${f} ${show(ev)} vs ${show(av)}`);
      }
      out.push(`${label} ${key}: ${parts.join('; ')}`);
    } else {
      out.push(`${label} ${key}: ${show(e)} vs ${show(a)}`);
    }
  }
  for (const key of Object.keys(actual).sort()) if (!(key in expected)) out.push(`${label} ${key}: unexpected (not in the source)`);
}

function describeColumns(expected: ColumnFacts[], actual: ColumnFacts[]): string[] {
  const en = expected.map((c) => c.name).join(', ');
  const an = actual.map((c) => c.name).join(', ');
  if (en !== an) return [`columns (${en}) vs (${an})`];
  const parts: string[] = [];
  expected.forEach((c, i) => {
    const a = actual[i]!;
    for (const f of Object.keys(c) as Array<keyof ColumnFacts>) if (c[f] !== a[f]) parts.push(`column ${c.name} ${f} ${show(c[f])} vs ${show(a[f])}`);
  });
  return parts;
}

/**
 * A normalised schema dump split into pg_dump's entries, keyed by their `-- Name: …; Type: …;
 * Schema: …` header (e.g. `TABLE public.trucks`), so differences name the object. Order is ignored.
 */
export function schemaBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  let key = '(preamble)';
  let lines: string[] = [];
  const flush = (): void => {
    let k = key;
    for (let n = 2; blocks.has(k); n++) k = `${key} #${n}`;
    blocks.set(k, lines.join('\n').trim());
  };
  const all = text.split('\n');
  for (let i = 0; i < all.length; i++) {
    const m = /^-- (?:Data for )?Name: (.*); Type: (.*); Schema: (.*?);/.exec(all[i]!);
    if (m) {
      // The header is framed by `--` lines: drop the one before it from the previous block.
      if (lines.length && lines[lines.length - 1] === '--') lines.pop();
      flush();
      key = `${m[2]} ${m[3] === '-' ? '' : m[3] + '.'}${m[1]}`;
      lines = [];
      continue;
    }
    lines.push(all[i]!);
  }
  flush();
  return blocks;
}

/** A short unified diff of two schema dumps (at most `maxLines` lines of it). */
export function schemaExcerpt(expected: string, actual: string, maxLines = 40): string {
  const patch = createTwoFilesPatch('expected', 'actual', expected + '\n', actual + '\n', undefined, undefined, { context: 1 });
  const lines = patch.split('\n').slice(4).filter((l) => l !== '\\ No newline at end of file');
  return lines.length > maxLines ? [...lines.slice(0, maxLines), `... (${lines.length - maxLines} more diff lines)`].join('\n') : lines.join('\n');
}

/**
 * Human-readable differences of `actual` from `expected`, one per object (e.g. `sequence
 * public.s: last_value 50 is_called false vs 1 true`, `table public.items: checksum differs`),
 * without those `allowed` matches.
 */
export function compareFingerprints(expected: Fingerprint, actual: Fingerprint, allowed: readonly AllowedGap[] = []): string[] {
  const out: string[] = [];
  const ef = expected.facts;
  const af = actual.facts;
  compareRecords('table', ef.tables, af.tables, out);
  compareRecords('index', ef.indexes, af.indexes, out);
  compareRecords('constraint', ef.constraints, af.constraints, out);
  for (const name of Object.keys(ef.sequences).sort()) {
    const e = ef.sequences[name]!;
    const a = af.sequences[name];
    if (!a) out.push(`sequence ${name}: missing`);
    else {
      if (e.lastValue !== a.lastValue || e.isCalled !== a.isCalled) out.push(`sequence ${name}: last_value ${e.lastValue} is_called ${e.isCalled} vs ${a.lastValue} ${a.isCalled}`);
      const { lastValue: _l, isCalled: _c, ...eo } = e;
      const { lastValue: _l2, isCalled: _c2, ...ao } = a;
      if (JSON.stringify(eo) !== JSON.stringify(ao)) out.push(`sequence ${name}: options ${show(eo)} vs ${show(ao)}`);
    }
  }
  for (const name of Object.keys(af.sequences).sort()) if (!(name in ef.sequences)) out.push(`sequence ${name}: unexpected (not in the source)`);
  for (const name of Object.keys(ef.materializedViews).sort()) {
    const e = ef.materializedViews[name]!;
    const a = af.materializedViews[name];
    if (a && e.populated !== a.populated) out.push(`materialized view ${name}: populated ${e.populated} vs ${a.populated}`);
  }
  compareRecords('view', ef.views, af.views, out);
  if (ef.largeObjects.count !== af.largeObjects.count) out.push(`large objects: count ${ef.largeObjects.count} vs ${af.largeObjects.count}`);
  for (const oid of Object.keys(ef.largeObjects.objects)) {
    const a = af.largeObjects.objects[oid];
    if (a === undefined) out.push(`large object ${oid}: missing`);
    else if (a !== ef.largeObjects.objects[oid]) out.push(`large object ${oid}: content md5 ${ef.largeObjects.objects[oid]} vs ${a}`);
  }
  for (const oid of Object.keys(af.largeObjects.objects)) if (!(oid in ef.largeObjects.objects)) out.push(`large object ${oid}: unexpected (not in the source)`);
  for (const name of Object.keys(ef.statistics).sort()) {
    const e = ef.statistics[name]!;
    const a = af.statistics[name];
    if (!a) out.push(`statistics ${name}: missing`);
    else {
      if (e.kinds !== a.kinds || e.columns !== a.columns) out.push(`statistics ${name}: definition ${e.kinds} ${e.columns} vs ${a.kinds} ${a.columns}`);
      if (e.hasData !== a.hasData) out.push(`statistics ${name}: has data ${e.hasData} vs ${a.hasData}`);
    }
  }
  for (const name of Object.keys(af.statistics).sort()) if (!(name in ef.statistics)) out.push(`statistics ${name}: unexpected (not in the source)`);
  compareRecords('event trigger', ef.eventTriggers, af.eventTriggers, out);
  compareRecords('trigger', ef.triggers, af.triggers, out);
  compareRecords('policy', ef.policies, af.policies, out);
  compareRecords('function', ef.functions, af.functions, out);
  compareRecords('type', ef.types, af.types, out);
  compareRecords('extension', ef.extensions, af.extensions, out);
  if (JSON.stringify(ef.databaseSettings) !== JSON.stringify(af.databaseSettings)) out.push(`database settings: ${show(ef.databaseSettings)} vs ${show(af.databaseSettings)}`);
  for (const name of Object.keys(expected.checksums).sort()) {
    const e = expected.checksums[name]!;
    const a = actual.checksums[name];
    if (!a) {
      // A missing table is reported above; a matview that is unpopulated here is reported as such.
      if (name in af.tables && !(name in af.materializedViews)) out.push(`table ${name}: rows not readable`);
      continue;
    }
    if ('error' in e || 'error' in a) {
      if (JSON.stringify(e) !== JSON.stringify(a)) out.push(`table ${name}: ${'error' in e ? e.error : 'readable'} vs ${'error' in a ? a.error : 'readable'}`);
      continue;
    }
    if (e.rows !== a.rows) out.push(`table ${name}: rows ${e.rows} vs ${a.rows}`);
    else if (e.checksum !== a.checksum) out.push(`table ${name}: checksum differs (${e.rows} rows)`);
  }
  if (expected.schema !== actual.schema) {
    const eb = schemaBlocks(expected.schema);
    const ab = schemaBlocks(actual.schema);
    for (const [key, text] of eb) {
      const other = ab.get(key);
      if (other === undefined) out.push(`schema ${key}: missing from the dump`);
      else if (other !== text) out.push(`schema ${key}: differs\n${schemaExcerpt(text, other, 20)}`);
    }
    for (const key of ab.keys()) if (!eb.has(key)) out.push(`schema ${key}: unexpected in the dump (not in the source's)`);
  }
  return out.filter((line) => !allowed.some((gap) => gap.matches.test(line)));
}

/** Rows of one table whose text form is in `a` but not in `b` (for a failure message). */
export async function rowsOnlyIn(aUrl: string, bUrl: string, table: string, limit = 5): Promise<string[]> {
  const read = async (url: string): Promise<Set<string>> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(COMPARABLE_SESSION);
      return new Set((await client.query<{ r: string }>(`SELECT x::text AS r FROM ONLY ${table} x`)).rows.map((r) => r.r));
    } finally {
      await client.end();
    }
  };
  const [a, b] = await Promise.all([read(aUrl), read(bUrl)]);
  return [...a].filter((r) => !b.has(r)).slice(0, limit);
}

import { describe, expect, it } from 'vitest';

import { normalizeDump, parseAppliedVersions, schemaDiff, versionsBlock } from '../../../src/schema/normalize.js';

/** A pg_dump 15.20 --schema-only dump, trimmed, with a restrict key and version lines that vary. */
function rawDump(key: string, dumpedBy = '15.20 (Debian 15.20-0+deb12u1)'): string {
  return [
    '--',
    '-- PostgreSQL database dump',
    '--',
    '',
    `\\restrict ${key}`,
    '',
    `-- Dumped from database version ${dumpedBy}`,
    `-- Dumped by pg_dump version ${dumpedBy}`,
    '',
    'SET statement_timeout = 0;',
    "SET client_encoding = 'UTF8';",
    "SELECT pg_catalog.set_config('search_path', '', false);",
    'SET check_function_bodies = false;',
    '',
    '--',
    '-- Name: pg_trgm; Type: EXTENSION; Schema: -; Owner: -',
    '--',
    '',
    'CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;',
    '',
    '',
    '--',
    '-- Name: EXTENSION pg_trgm; Type: COMMENT; Schema: -; Owner: -',
    '--',
    '',
    "COMMENT ON EXTENSION pg_trgm IS 'text similarity measurement and index searching based on trigrams';",
    '',
    '',
    '--',
    '-- Name: users; Type: TABLE; Schema: public; Owner: -',
    '--',
    '',
    'CREATE TABLE public.users (   ',
    '    id bigint NOT NULL',
    ');',
    '',
    '',
    '--',
    '-- Name: TABLE users; Type: COMMENT; Schema: public; Owner: -',
    '--',
    '',
    "COMMENT ON TABLE public.users IS 'people';",
    '',
    '',
    '--',
    '-- PostgreSQL database dump complete',
    '--',
    '',
    `\\unrestrict ${key}`,
    '',
  ].join('\n');
}

describe('normalizeDump', () => {
  it('gives the same bytes for dumps that differ only in restrict keys and pg_dump versions', () => {
    const a = normalizeDump(rawDump('AbC123'), ['20260102000000']);
    const b = normalizeDump(rawDump('zZz999', '15.21 (Debian 15.21-1)'), ['20260102000000']);
    expect(a).toBe(b);
  });

  it('drops \\restrict, \\unrestrict and Dumped from/by lines', () => {
    const out = normalizeDump(rawDump('AbC123'));
    expect(out).not.toMatch(/restrict/);
    expect(out).not.toMatch(/Dumped (from|by)/);
  });

  it('keeps the SET preamble that loading needs', () => {
    const out = normalizeDump(rawDump('k'));
    expect(out).toContain("SELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\n");
    expect(out).toContain('SET statement_timeout = 0;');
  });

  it('drops COMMENT ON EXTENSION blocks and keeps comments on tables', () => {
    const out = normalizeDump(rawDump('k'));
    expect(out).not.toContain('COMMENT ON EXTENSION');
    expect(out).not.toContain('Name: EXTENSION pg_trgm');
    expect(out).toContain('CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;');
    expect(out).toContain("COMMENT ON TABLE public.users IS 'people';");
  });

  it('collapses blank lines, trims trailing whitespace and ends with one newline', () => {
    const out = normalizeDump(rawDump('k'));
    expect(out).not.toMatch(/\n\n\n/);
    expect(out).not.toMatch(/[ \t]+\n/);
    expect(out.startsWith('--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout')).toBe(true);
    expect(out.endsWith('-- PostgreSQL database dump complete\n--\n')).toBe(true);
  });

  it('leaves function bodies, multi-line strings and quoted identifiers exactly as dumped', () => {
    const body = [
      'CREATE FUNCTION public.f() RETURNS integer',
      '    LANGUAGE plpgsql',
      '    AS $_$',
      'begin   ',
      '',
      '',
      '',
      '  -- Dumped by pg_dump version 1 (inside the body: kept)',
      "  return length('x$$y');",
      'end',
      '$_$;',
      '',
      '',
      "COMMENT ON FUNCTION public.f() IS E'two\\'s  ",
      '',
      '',
      "lines  ';",
      'CREATE TABLE public."odd  ',
      '',
      '',
      'name" (id integer);',
      '',
    ].join('\n');
    const out = normalizeDump(body);
    expect(out).toContain('begin   \n\n\n\n  -- Dumped by pg_dump version 1 (inside the body: kept)\n');
    expect(out).toContain("E'two\\'s  \n\n\nlines  ';");
    expect(out).toContain('"odd  \n\n\nname"');
    // Outside the literals, blank runs still collapse.
    expect(out).toContain("$_$;\n\nCOMMENT ON FUNCTION");
  });

  it("keeps an E'' string verbatim after a doubled quote inside it", () => {
    const out = normalizeDump("COMMENT ON TABLE public.t IS E'it''s \\'  \n\n\nquoted';\n");
    expect(out).toBe("COMMENT ON TABLE public.t IS E'it''s \\'  \n\n\nquoted';\n");
  });

  it('appends the applied versions sorted and de-duplicated, like Rails structure.sql', () => {
    const out = normalizeDump(rawDump('k'), ['20260301000000', '20260101000000', '20260301000000']);
    expect(out.endsWith("--\n\nINSERT INTO public.schema_migrations (version) VALUES\n('20260101000000'),\n('20260301000000');\n")).toBe(true);
  });

  it('appends nothing when there are no versions', () => {
    expect(normalizeDump(rawDump('k'), [])).not.toContain('INSERT INTO');
    expect(versionsBlock([])).toBe('');
  });

  it('is idempotent: normalising a normalised file with its own versions changes nothing', () => {
    const once = normalizeDump(rawDump('k'), ['20260101000000', '20260201000000']);
    expect(normalizeDump(once, parseAppliedVersions(once))).toBe(once);
    expect(normalizeDump(normalizeDump(rawDump('k')))).toBe(normalizeDump(rawDump('k')));
  });

  it('replaces a versions block that is already there', () => {
    const once = normalizeDump(rawDump('k'), ['20260101000000']);
    const again = normalizeDump(once, ['20260505000000']);
    expect(parseAppliedVersions(again)).toEqual(['20260505000000']);
    expect(again.match(/INSERT INTO/g)).toHaveLength(1);
  });

  it('accepts CRLF input', () => {
    expect(normalizeDump(rawDump('k').replace(/\n/g, '\r\n'))).toBe(normalizeDump(rawDump('k')));
  });
});

describe('parseAppliedVersions', () => {
  it('reads the versions back in file order, unquoting', () => {
    const text = normalizeDump('SELECT 1;\n', ['20260101000000', "2026_o'brien"]);
    expect(parseAppliedVersions(text)).toEqual(['20260101000000', "2026_o'brien"]);
  });

  it('returns [] for a file without a versions block', () => {
    expect(parseAppliedVersions(normalizeDump(rawDump('k')))).toEqual([]);
    expect(parseAppliedVersions('')).toEqual([]);
  });

  it('ignores an INSERT that is not the trailing versions block', () => {
    const text = "INSERT INTO public.schema_migrations (version) VALUES\n('1');\nCREATE TABLE t ();\n";
    expect(parseAppliedVersions(text)).toEqual([]);
  });
});

describe('schemaDiff', () => {
  const base = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

  it('returns an empty string for equal files', () => {
    expect(schemaDiff(base, base)).toBe('');
  });

  it('shows a changed line with three lines of context and a hunk header', () => {
    const changed = base.replace('line 10\n', 'line ten\n');
    expect(schemaDiff(base, changed, { labelA: 'db/schema.sql', labelB: 'production' })).toBe(
      [
        '--- db/schema.sql',
        '+++ production',
        '@@ -7,7 +7,7 @@',
        ' line 7',
        ' line 8',
        ' line 9',
        '-line 10',
        '+line ten',
        ' line 11',
        ' line 12',
        ' line 13',
        '',
      ].join('\n'),
    );
  });

  it('shows added lines at the end', () => {
    const added = base + 'CREATE TABLE public.b ();\n';
    expect(schemaDiff(base, added, { context: 1 })).toBe(['--- a', '+++ b', '@@ -20,1 +20,2 @@', ' line 20', '+CREATE TABLE public.b ();', ''].join('\n'));
  });

  it('keeps separate hunks for changes far apart', () => {
    const changed = base.replace('line 2\n', 'line two\n').replace('line 18\n', 'line eighteen\n');
    const diff = schemaDiff(base, changed, { context: 1 });
    expect(diff.match(/^@@/gm)).toHaveLength(2);
    expect(diff).toContain('-line 2\n+line two\n');
    expect(diff).toContain('-line 18\n+line eighteen\n');
  });

  it('treats a missing newline at the end as no difference', () => {
    expect(schemaDiff('a\nb', 'a\nc')).toBe(['--- a', '+++ b', '@@ -1,2 +1,2 @@', ' a', '-b', '+c', ''].join('\n'));
  });

  it('shows files too different to diff line by line as their differing middle replaced', () => {
    const a = ['head', ...Array.from({ length: 600 }, (_, i) => `a ${i}`), 'tail'].join('\n') + '\n';
    const b = ['head', ...Array.from({ length: 600 }, (_, i) => `b ${i}`), 'tail'].join('\n') + '\n';
    expect(schemaDiff(a, b, { context: 1, maxLines: 6 })).toBe(
      ['--- a', '+++ b', '@@ -1,602 +1,602 @@', ' head', '-a 0', '-a 1', '… 1198 more changed lines not shown', ''].join('\n'),
    );
    expect(schemaDiff(a, b, { context: 1, maxLines: Infinity }).split('\n').slice(-4)).toEqual(['+b 598', '+b 599', ' tail', '']);
  });

  it('stops after maxLines and says how many changes were left out', () => {
    const other = base.replace(/line/g, 'LINE');
    const diff = schemaDiff(base, other, { maxLines: 10 });
    const lines = diff.trimEnd().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[10]).toBe('… 33 more changed lines not shown');
  });
});

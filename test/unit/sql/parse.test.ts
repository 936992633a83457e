import { beforeAll, describe, expect, it } from 'vitest';

import { MigrationError } from '../../../src/errors.js';
import {
  codeFrame,
  ensureParser,
  isBlankSql,
  skipTrivia,
  SourceLocator,
  splitStatements,
  SqlSyntaxError,
} from '../../../src/sql/parse.js';

beforeAll(async () => {
  await ensureParser();
});

function syntaxErrorOf(sql: string, options?: Parameters<typeof splitStatements>[1]): SqlSyntaxError {
  try {
    splitStatements(sql, options);
  } catch (error) {
    expect(error).toBeInstanceOf(SqlSyntaxError);
    return error as SqlSyntaxError;
  }
  throw new Error('expected a syntax error');
}

describe('splitStatements', () => {
  it('splits statements and names each by its parse node', () => {
    const sql = 'CREATE TABLE a (id int);\nCREATE INDEX a_id ON a (id);\nBEGIN;\nCOMMIT;';
    const statements = splitStatements(sql);
    expect(statements.map((s) => [s.kind, s.text])).toEqual([
      ['CreateStmt', 'CREATE TABLE a (id int)'],
      ['IndexStmt', 'CREATE INDEX a_id ON a (id)'],
      ['TransactionStmt', 'BEGIN'],
      ['TransactionStmt', 'COMMIT'],
    ]);
    expect(statements.map((s) => [s.line, s.column])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
    ]);
  });

  it('keeps the parse tree in Node form, with the kind as its only key', () => {
    const [statement] = splitStatements('CREATE INDEX CONCURRENTLY i ON t (c)');
    expect(statement!.node).toMatchObject({ IndexStmt: { concurrent: true, idxname: 'i', relation: { relname: 't' } } });
  });

  it('does not split on semicolons inside strings, quoted identifiers, dollar quotes or comments', () => {
    const sql = [
      "INSERT INTO t VALUES ('a;b', E'c\\';d');",
      'SELECT 1 AS "x;y";',
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; SELECT 2; $fn$;",
      'SELECT /* ; */ 2; -- ; not a statement',
    ].join('\n');
    const statements = splitStatements(sql);
    expect(statements.map((s) => s.kind)).toEqual(['InsertStmt', 'SelectStmt', 'CreateFunctionStmt', 'SelectStmt']);
    expect(statements[2]!.text).toBe('CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; SELECT 2; $fn$');
    expect(statements[3]!.text).toBe('SELECT /* ; */ 2');
  });

  it('keeps a DO block whole', () => {
    const sql = `DO $$
BEGIN
  PERFORM 1;
  RAISE NOTICE 'done;';
END
$$;
SELECT 1;`;
    const statements = splitStatements(sql);
    expect(statements).toHaveLength(2);
    expect(statements[0]!.kind).toBe('DoStmt');
    expect(statements[0]!.text).toBe(sql.slice(0, sql.indexOf('$$;') + 2));
    expect(statements[1]).toMatchObject({ kind: 'SelectStmt', line: 7, column: 1 });
  });

  it('starts each statement at its first token, after leading comments and blank lines', () => {
    const sql = '-- create the table\n/* nested /* comment */ here */\n\n   CREATE TABLE a (id int);\n\n  -- and one more\n  SELECT 1;';
    const statements = splitStatements(sql);
    expect(statements.map((s) => ({ line: s.line, column: s.column, text: s.text }))).toEqual([
      { line: 4, column: 4, text: 'CREATE TABLE a (id int)' },
      { line: 7, column: 3, text: 'SELECT 1' },
    ]);
    for (const s of statements) expect(sql.slice(s.start, s.end)).toBe(s.text);
    expect(sql.slice(statements[1]!.regionStart, statements[1]!.start)).toBe('\n\n  -- and one more\n  ');
  });

  it('drops trailing comments but keeps comment-like text inside strings', () => {
    const statements = splitStatements(
      "SELECT 1 -- trailing\n;\nSELECT '-- not a comment' /* tail */\n;\nSELECT 'a /* b' -- end",
    );
    expect(statements.map((s) => s.text)).toEqual(['SELECT 1', "SELECT '-- not a comment'", "SELECT 'a /* b'"]);
  });

  it('keeps a trailing comment-like token that belongs to the statement', () => {
    const statements = splitStatements('SELECT $x$ -- inside $x$\n-- outside\n');
    expect(statements.map((s) => s.text)).toEqual(['SELECT $x$ -- inside $x$']);
  });

  it('ignores empty statements', () => {
    expect(splitStatements(';;SELECT 1;;; SELECT 2;').map((s) => s.text)).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it.each([[''], ['   \n\t'], ['-- only a comment\n'], ['/* block */ -- and line'], [';']])(
    'yields no statements for %j',
    (sql) => {
      expect(splitStatements(sql)).toEqual([]);
    },
  );

  it('converts UTF-8 byte offsets to string indexes, including characters outside the BMP', () => {
    const sql = "SELECT 'é😀ü';\n  SELECT 'ß'; SELECT 3";
    const statements = splitStatements(sql);
    expect(statements.map((s) => s.text)).toEqual(["SELECT 'é😀ü'", "SELECT 'ß'", 'SELECT 3']);
    for (const s of statements) expect(sql.slice(s.start, s.end)).toBe(s.text);
    expect(statements.map((s) => [s.line, s.column])).toEqual([
      [1, 1],
      [2, 3],
      [2, 15],
    ]);
  });

  it('shifts lines by firstLine, for a section that starts further down a file', () => {
    const statements = splitStatements('\nSELECT 1;', { firstLine: 10 });
    expect(statements[0]).toMatchObject({ line: 11, column: 1 });
  });

  it('handles CRLF line endings', () => {
    const statements = splitStatements('SELECT 1;\r\n-- note\r\nSELECT 2;\r\n');
    expect(statements.map((s) => [s.text, s.line, s.column])).toEqual([
      ['SELECT 1', 1, 1],
      ['SELECT 2', 3, 1],
    ]);
  });
});

describe('splitStatements syntax errors', () => {
  it('rejects a typo with the parser message and a 1-based line and column', () => {
    const error = syntaxErrorOf('CREATE TABLE a (id int);\n\n  selec 1;');
    expect(error).toBeInstanceOf(MigrationError);
    expect(error.message).toBe('syntax error at or near "selec" (line 3, column 3)');
    expect(error.parserMessage).toBe('syntax error at or near "selec"');
    expect([error.line, error.column, error.sqlstate]).toEqual([3, 3, '42601']);
    expect(error.hint).toBe('fix the SQL at line 3, column 3');
  });

  it('reports column 1 for an error at the very first character', () => {
    const error = syntaxErrorOf('selec 1');
    expect([error.line, error.column, error.offset]).toEqual([1, 1, 0]);
  });

  it('counts the column in characters after non-ASCII text', () => {
    const error = syntaxErrorOf("SELECT '😀é' FORM t");
    expect(error.parserMessage).toBe('syntax error at or near "t"');
    expect(error.column).toBe(18);
    expect(error.offset).toBe("SELECT '😀é' FORM ".length);
  });

  it('points just after the last token for an error at end of input', () => {
    const error = syntaxErrorOf('SELECT 1;\nSELECT * FROM\n\n');
    expect(error.parserMessage).toBe('syntax error at end of input');
    expect([error.line, error.column]).toEqual([2, 14]);
  });

  it.each([
    ["SELECT 'abc", 'unterminated quoted string at or near "\'abc"'],
    ['SELECT $$abc', 'unterminated dollar-quoted string at or near "$$abc"'],
    ['SELECT 1 /* open', 'unterminated /* comment at or near "/* open"'],
  ])('rejects unterminated text in %j', (sql, message) => {
    expect(syntaxErrorOf(sql).parserMessage).toBe(message);
  });

  it('rejects a NUL byte instead of silently cutting the SQL there', () => {
    const error = syntaxErrorOf('SELECT 1;\0DROP TABLE users;');
    expect(error.parserMessage).toBe('the SQL contains a NUL byte');
    expect(error.column).toBe(10);
  });

  it('names the file and shifts the line when given them, and carries a code frame', () => {
    const error = syntaxErrorOf('SELECT 1;\nSELEC 2;\nSELECT 3;', { file: '20260101000000_x.sql', firstLine: 5 });
    expect(error.message).toBe('20260101000000_x.sql: syntax error at or near "SELEC" (line 6, column 1)');
    expect(error.file).toBe('20260101000000_x.sql');
    expect(error.frame).toBe(['  5 | SELECT 1;', '> 6 | SELEC 2;', '    | ^', '  7 | SELECT 3;'].join('\n'));
  });

  it('throws a plain Error when used before ensureParser resolved in a fresh module', async () => {
    const { vi } = await import('vitest');
    vi.resetModules();
    const fresh = await import('../../../src/sql/parse.js');
    expect(() => fresh.splitStatements('SELECT 1')).toThrow(/ensureParser/);
  });
});

describe('the parser binding (src/sql/pg-query.ts)', () => {
  it('parses SQL larger than the WebAssembly memory it started with, and keeps parsing afterwards', () => {
    // ~6 MB of SQL with non-ASCII names: the memory grows during the call, so the text and the tree
    // must be read from the grown memory, and the byte size must count multi-byte characters.
    const count = 40_000;
    const sql = Array.from({ length: count }, (_, i) => `INSERT INTO "tablé_${i}" (naïve, 𝒳) VALUES ('ünïcødé ${i}', $tag$ ; $tag$);`).join('\n');
    const statements = splitStatements(sql);
    expect(statements).toHaveLength(count);
    expect(statements.at(-1)!.text).toBe(`INSERT INTO "tablé_${count - 1}" (naïve, 𝒳) VALUES ('ünïcødé ${count - 1}', $tag$ ; $tag$)`);
    expect(sql.slice(statements.at(-1)!.start, statements.at(-1)!.end)).toBe(statements.at(-1)!.text);
    expect(splitStatements('SELECT 1; SELECT 2').map((s) => s.text)).toEqual(['SELECT 1', 'SELECT 2']);
    expect(syntaxErrorOf('SELECT é FROM t WHERE;').column).toBe(22);
  });

  it('parses the same from a module compiled ahead (precompilePgQuery) as from the package loaded the usual way', async () => {
    const { vi } = await import('vitest');
    vi.resetModules();
    // The project's TypeScript libraries do not declare WebAssembly.
    const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: unknown): Promise<object>; instantiate(what: unknown, imports: object): Promise<object>; Module: new (bytes: never) => object } }).WebAssembly;
    const compile = vi.spyOn(wasm, 'compile');
    const instantiate = vi.spyOn(wasm, 'instantiate');
    const binding = await import('../../../src/sql/pg-query.js');
    binding.precompilePgQuery();
    binding.precompilePgQuery(); // a second call reuses the first compile
    const parse = await binding.loadPgQuery().finally(() => vi.restoreAllMocks());
    // Compiled once, ahead, and instantiated from that module (the usual way instantiates from the file's bytes).
    expect(compile).toHaveBeenCalledTimes(1);
    expect(instantiate).toHaveBeenCalledTimes(1);
    expect(instantiate.mock.calls[0]![0]).toBeInstanceOf(wasm.Module);
    const sql = "CREATE TABLE t (id bigint PRIMARY KEY, note text DEFAULT 'é'); CREATE INDEX CONCURRENTLY t_note ON t (note); DO $$ BEGIN PERFORM 1; END $$;";
    // This file's splitStatements runs on the binding imported before resetModules: the package loaded the usual way.
    expect((parse(sql) as { stmts: Array<{ stmt: unknown }> }).stmts.map((s) => s.stmt)).toEqual(splitStatements(sql).map((s) => s.node));
    expect(() => parse('SELEC 1')).toThrow(binding.PgQueryError);
  });

  it('reports syntax errors of one parse without affecting the next', () => {
    for (let i = 0; i < 200; i++) {
      expect(syntaxErrorOf(`SELEC ${i}`).parserMessage).toBe('syntax error at or near "SELEC"');
      expect(splitStatements(`SELECT ${i}`)).toHaveLength(1);
    }
  });
});

describe('codeFrame', () => {
  const sql = ['one', 'two', 'three', 'four', 'five', 'six'].join('\n');

  it('shows two lines around the marked one with a caret under the column', () => {
    expect(codeFrame(sql, 4, 3)).toBe(
      ['  2 | two', '  3 | three', '> 4 | four', '    |   ^', '  5 | five', '  6 | six'].join('\n'),
    );
  });

  it('clips context at the start and numbers from firstLine', () => {
    expect(codeFrame(sql, 1, 1, { firstLine: 9 })).toBe(['>  9 | one', '     | ^', '  10 | two', '  11 | three'].join('\n'));
  });

  it('keeps tabs so the caret lines up', () => {
    expect(codeFrame('\tSELEC 1', 1, 2)).toBe(['> 1 | \tSELEC 1', '    | \t^'].join('\n'));
  });
});

describe('SourceLocator', () => {
  it('maps UTF-8 byte offsets to string indexes', () => {
    const locator = new SourceLocator('aé😀b');
    // a=1 byte, é=2, 😀=4 (two UTF-16 units), b=1
    expect([0, 1, 3, 7, 8].map((b) => locator.indexOfByte(b))).toEqual([0, 1, 2, 4, 5]);
  });

  it('maps code-point offsets to string indexes', () => {
    const locator = new SourceLocator('a😀b');
    expect([0, 1, 2, 3].map((c) => locator.indexOfCodePoint(c))).toEqual([0, 1, 3, 4]);
  });

  it('gives 1-based lines and code-point columns', () => {
    const locator = new SourceLocator('ab\n😀x\n');
    expect(locator.positionOf(0)).toEqual({ line: 1, column: 1 });
    expect(locator.positionOf(5)).toEqual({ line: 2, column: 2 });
    expect(locator.positionOf(7)).toEqual({ line: 3, column: 1 });
  });
});

describe('skipTrivia and isBlankSql', () => {
  it('skips whitespace, line comments and nested block comments', () => {
    const text = '  -- a\n/* b /* c */ d */\tSELECT';
    expect(skipTrivia(text)).toBe(text.indexOf('SELECT'));
  });

  it.each([
    ['', true],
    ['-- x', true],
    ['/* a */ /* b /* c */ */', true],
    ['/* unterminated', true],
    ['-- x\nirreversible', false],
    ['SELECT 1', false],
  ])('treats %j as blank: %s', (sql, blank) => {
    expect(isBlankSql(sql)).toBe(blank);
  });
});

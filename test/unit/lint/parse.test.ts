import { beforeAll, describe, expect, it } from 'vitest';

import { blankPsqlMetaCommands, parseLintFile } from '../../../src/lint/parse.js';
import { ensureParser } from '../../../src/sql/parse.js';

beforeAll(async () => {
  await ensureParser();
});

describe('parseLintFile', () => {
  it('reads a drydock migration as its up section, in drydock’s transaction, with file line numbers', () => {
    const text = '-- migrate:up\n-- a comment\nCREATE TABLE a (id int);\n\n-- migrate:down\nDROP TABLE a;\n';
    const parsed = parseLintFile('20260101000000_a.sql', text);
    expect(parsed.kind).toBe('drydock');
    expect(parsed.sections.map((s) => [s.direction, s.runnerTransaction, s.statements.map((st) => [st.kind, st.line])])).toEqual([['up', true, [['CreateStmt', 3]]]]);
  });

  it('adds the down section with down, and knows transaction:false', () => {
    const text = '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON a (id);\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY i;\n';
    const parsed = parseLintFile('x.sql', text, { down: true });
    expect(parsed.sections.map((s) => [s.direction, s.runnerTransaction, s.statements[0]!.line])).toEqual([
      ['up', false, 2],
      ['down', false, 4],
    ]);
  });

  it('skips an irreversible down section', () => {
    const parsed = parseLintFile('x.sql', '-- migrate:up\nSELECT 1;\n-- migrate:down\nirreversible\n', { down: true });
    expect(parsed.problem).toBeUndefined();
    expect(parsed.sections.map((s) => s.direction)).toEqual(['up']);
  });

  it('reports a drydock migration whose up section has no statements yet (the runner refuses it), at its marker', () => {
    const parsed = parseLintFile('20260101000000_a.sql', '\n-- migrate:up\n-- TODO\n\n-- migrate:down\nDROP TABLE a;\n', { down: true });
    expect(parsed.sections).toEqual([]);
    expect(parsed.problem).toEqual({ message: 'the `-- migrate:up` section has no statements (`drydock migrate up` refuses to apply it)', line: 2, column: 1 });
  });

  it('reads a file without markers as plain SQL', () => {
    const parsed = parseLintFile('x.sql', 'BEGIN;\nALTER TABLE a ADD COLUMN b int;\nCOMMIT;\n');
    expect(parsed.kind).toBe('plain');
    expect(parsed.sections[0]!.runnerTransaction).toBe(false);
    expect(parsed.sections[0]!.statements.map((s) => s.kind)).toEqual(['TransactionStmt', 'AlterTableStmt', 'TransactionStmt']);
  });

  it('reports a syntax error with the parser’s message and the file position', () => {
    const parsed = parseLintFile('x.sql', '-- migrate:up\nCREATE TABLE a (id int);\nALTER TABLE a ADD COLUMNN b text;\n');
    expect(parsed.problem).toMatchObject({ message: 'syntax error at or near "text"', line: 3, column: 29 });
    expect(parsed.problem?.frame).toContain('> 3 | ALTER TABLE a ADD COLUMNN b text;');
  });

  it('reports a bad drydock layout as a problem with its line', () => {
    const parsed = parseLintFile('x.sql', '-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n');
    expect(parsed.problem).toMatchObject({ line: 3, message: expect.stringContaining('two `-- migrate:up` sections') as string });
  });

  it('finds the statements of a DO block, at their place in the file', () => {
    const text = [
      'DO $$',
      'BEGIN',
      "  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'fk') THEN",
      '    ALTER TABLE a ADD CONSTRAINT fk FOREIGN KEY (b) REFERENCES b (id);',
      '  END IF;',
      "  EXECUTE 'ALTER TABLE a DROP COLUMN c';",
      "  RAISE NOTICE 'create table x';",
      'EXCEPTION WHEN duplicate_object THEN NULL;',
      'END $$;',
    ].join('\n');
    const [stmt] = parseLintFile('x.sql', text).sections[0]!.statements;
    expect(stmt!.embedded.map((e) => [e.kind, e.line, e.column, e.inDoBlock])).toEqual([
      ['AlterTableStmt', 4, 5, true],
      ['AlterTableStmt', 6, 12, true],
    ]);
  });

  it("reads DO bodies with the shared scanner: nested comments and E'' strings hide nothing after them", () => {
    const text = [
      'DO $$',
      'BEGIN',
      '  /* outer /* inner */ DROP TABLE x; */',
      "  RAISE NOTICE E'it\\'s';",
      '  ALTER TABLE a ADD COLUMN b int;',
      'END $$;',
    ].join('\n');
    const [stmt] = parseLintFile('x.sql', text).sections[0]!.statements;
    expect(stmt!.embedded.map((e) => [e.kind, e.line])).toEqual([['AlterTableStmt', 5]]);
  });

  it('does not look inside function bodies, which do not run during the migration', () => {
    const text = "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DROP TABLE x; END $$;";
    expect(parseLintFile('x.sql', text).sections[0]!.statements[0]!.embedded).toEqual([]);
  });

  it('attaches comments to the statement they precede, or trail on the same line', () => {
    const text = 'SELECT 1; -- trails one\n-- leads two\nSELECT 2;\n-- after everything\n';
    const comments = parseLintFile('x.sql', text).sections[0]!.comments;
    expect(comments.map((c) => [c.text, c.line, c.statementIndex])).toEqual([
      ['-- trails one', 1, 0],
      ['-- leads two', 2, 1],
      ['-- after everything', 4, undefined],
    ]);
  });

  it('skips psql meta-commands in plain files, keeping positions, but not backslashes inside SQL', () => {
    const text = "\\set ON_ERROR_STOP on\n  \\echo 'go'\nSELECT E'a\\\\b', '\\x';\n\\connect app\nDROP TABLE legacy;\n";
    const parsed = parseLintFile('x.sql', text);
    expect(parsed.problem).toBeUndefined();
    expect(parsed.sections[0]!.statements.map((s) => [s.kind, s.line, s.column, s.text])).toEqual([
      ['SelectStmt', 3, 1, "SELECT E'a\\\\b', '\\x'"],
      ['DropStmt', 5, 1, 'DROP TABLE legacy'],
    ]);
    expect(blankPsqlMetaCommands(text)).toHaveLength(text.length);
  });

  it('leaves backslash lines inside dollar quotes whose tag has digits', () => {
    const text = "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $body1$\nSELECT 'a';\n\\not a meta-command\n$body1$;\n";
    expect(blankPsqlMetaCommands(text)).toBe(text);
  });

  it('places findings by character, not byte, on lines with non-ASCII text', () => {
    const text = "-- ☕ café\nALTER TABLE \"Caf\u00e9\" ADD COLUMN \"n\u00e4me\" uuid DEFAULT gen_random_uuid();";
    const [stmt] = parseLintFile('x.sql', text).sections[0]!.statements;
    const column = (stmt!.node.cmds as Array<{ AlterTableCmd: { def: { ColumnDef: { location: number } } } }>)[0]!.AlterTableCmd.def.ColumnDef;
    expect(stmt!.locate(column.location)).toEqual({ line: 2, column: 31 });
  });
});

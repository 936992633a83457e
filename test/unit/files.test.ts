import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { MAX_SQL_FILE_BYTES, readSqlFileSync, readSqlTextSync } from '../../src/files.js';

const dir = mkdtempSync(join(tmpdir(), 'drydock-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readSqlTextSync', () => {
  it('reads what readSqlFileSync reads, decoded the same way (BOM kept, invalid UTF-8 as U+FFFD)', () => {
    const file = join(dir, 'odd.sql');
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('SELECT \'é😀\';\n'), Buffer.from([0xff, 0xc3, 0x28, 0xe2, 0x82, 0x41, 0xf0, 0x9f, 0x98])]);
    writeFileSync(file, bytes);
    const text = readSqlTextSync(file);
    expect(text).toBe(readSqlFileSync(file).toString('utf8'));
    expect(text.charCodeAt(0)).toBe(0xfeff);
    expect(text).toContain('\ufffd');
  });

  it('refuses a folder and a file over the limit, naming the path as displayed', () => {
    expect(() => readSqlTextSync(dir, 'migrations')).toThrow(/cannot read migrations: it is not a regular file/);
    const big = join(dir, 'big.sql');
    writeFileSync(big, 'SELECT 1;\n');
    truncateSync(big, MAX_SQL_FILE_BYTES + 1);
    expect(() => readSqlTextSync(big, 'big.sql')).toThrow(/cannot read big\.sql: it is 10 MB, over drydock's limit/);
    expect(() => readSqlTextSync(join(dir, 'missing.sql'), 'missing.sql')).toThrow(/missing\.sql/);
  });
});

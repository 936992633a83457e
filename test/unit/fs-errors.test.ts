import { describe, expect, it } from 'vitest';

import { DrydockError, fsError } from '../../src/errors.js';

const err = (code: string) => Object.assign(new Error(`${code}: something, open '/x'`), { code });

describe('fsError', () => {
  it('names the path, says why in words and what to do', () => {
    const cases: Array<[string, RegExp, RegExp]> = [
      ['EACCES', /permission denied$/, /permissions/],
      ['EISDIR', /it is a folder$/, /path of a file/],
      ['ENOENT', /no such file or folder$/, /folder on it must exist/],
      ['EEXIST', /already exists$/, /another path/],
      ['ENOSPC', /no space left/, /free some space/],
    ];
    for (const [code, why, hint] of cases) {
      const error = fsError(err(code), 'write', 'db/schema.sql');
      expect(error).toBeInstanceOf(DrydockError);
      expect(error.message).toMatch(/^cannot write db\/schema\.sql: /);
      expect(error.message).toMatch(why);
      expect(error.hint).toMatch(hint);
    }
  });

  it('passes a DrydockError through and keeps an unknown code readable', () => {
    const known = new DrydockError('already explained');
    expect(fsError(known, 'read', 'x')).toBe(known);
    expect(fsError(err('EWHATEVER'), 'read', 'x').message).toMatch(/^cannot read x: ewhatever/);
  });
});

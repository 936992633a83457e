import { describe, expect, it } from 'vitest';

import { DrydockError } from '../../../src/errors.js';
import { copyError } from '../../../src/pull/copy-live.js';

const table = { schema: 'app', name: 'secrets' };

describe('copyError', () => {
  it('names the table and the missing SELECT privilege for insufficient_privilege (42501)', () => {
    const error = copyError(Object.assign(new Error('permission denied for table secrets'), { code: '42501' }), table);
    expect(error).toBeInstanceOf(DrydockError);
    expect(error!.message).toBe('cannot copy app.secrets: the source role lacks the SELECT privilege on it (permission denied for table secrets)');
    expect(error!.hint).toMatch(/GRANT SELECT ON app\.secrets TO/);
  });

  it('keeps the row-level security message, and leaves other failures alone', () => {
    expect(copyError(Object.assign(new Error('query would be affected by row-level security policy for table "secrets"'), { code: '42501' }), table)!.message).toMatch(/row-level security/);
    expect(copyError(Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }), table)).toBeUndefined();
  });
});

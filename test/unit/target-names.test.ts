/**
 * resolveTarget / resolvePullOptions: the databases that are never a working database are refused by
 * name, before any connection (issue 12: `pull --to template1` replaced the template).
 */
import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/errors.js';
import { resolvePullOptions, resolveTarget } from '../../src/settings.js';

const LOCAL = { value: 'postgres://postgres@127.0.0.1:5432/postgres' };

function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a refusal');
}

describe('resolveTarget: system databases', () => {
  it.each(['template0', 'template1', 'postgres'])('refuses --to %s with a hint that nothing was changed', (name) => {
    const error = refusal(() => resolveTarget('pull', name, undefined, LOCAL, {}));
    expect(error.message).toMatch(new RegExp(`refusing to use ${name} as a working database`));
    expect(error.message).not.toContain('\n');
    expect(error.hint).toMatch(/nothing was changed/);
  });

  it.each(['template0', 'template1', 'postgres'])('refuses --to postgres://…/%s (the URL form) too', (name) => {
    refusal(() => resolveTarget('pull', `postgres://postgres@127.0.0.1:5432/${name}`, undefined, LOCAL, {}));
  });

  it('refuses a default target (from the app name) that is a system database', () => {
    refusal(() => resolveTarget('pull', undefined, 'template1', LOCAL, {}));
  });

  it("refuses the --local URL's own database", () => {
    const error = refusal(() => resolveTarget('pull', 'myapp_development', undefined, { value: 'postgres://postgres@127.0.0.1:5432/myapp_development' }, {}));
    expect(error.message).toMatch(/it is the database the local URL .* connects to/);
    expect(error.hint).toMatch(/nothing was changed/);
  });

  it("refuses drydock's own copies by prefix, spares included", () => {
    refusal(() => resolveTarget('pull', 'drydock_spare_0123456789ab', undefined, LOCAL, {}));
  });

  it('accepts an ordinary working database', () => {
    expect(resolveTarget('pull', 'myapp_development', undefined, LOCAL, {}).target).toBe('myapp_development');
    expect(resolveTarget('pull', 'postgres://postgres@127.0.0.1:5432/myapp_development', undefined, LOCAL, {}).target).toBe('myapp_development');
  });

  it('resolvePullOptions refuses --to template1 with --from-url', () => {
    refusal(() => resolvePullOptions({ to: 'template1', fromUrl: 'postgres://postgres@127.0.0.1:5432/app', local: LOCAL.value }, undefined, { libpq: {}, spares: false }));
  });
});

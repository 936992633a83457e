import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../../src/errors.js';
import { describeCopyMade, planCopy, type CopyFacts } from '../../../src/rehearse/copy.js';
import { errorOf } from '../../helpers/throws.js';

const DAY = 24 * 3_600_000;

function facts(extra: Partial<CopyFacts>): CopyFacts {
  return { pristine: undefined, maxAgeMs: DAY, pullFrom: undefined, target: 'my_app', to: undefined, ...extra };
}

describe('planCopy', () => {
  it('resets from a pristine snapshot younger than --max-age, whether or not it could pull', () => {
    expect(planCopy(facts({ pristine: { target: 'my_app', ageHours: 2 } }))).toEqual({ action: 'reset' });
    expect(planCopy(facts({ pristine: { target: 'my_app', ageHours: 24 }, pullFrom: 'my-app' }))).toEqual({ action: 'reset' });
  });

  it('pulls when there is no snapshot, or it is older than --max-age, and it knows where from, saying why', () => {
    expect(planCopy(facts({ pullFrom: 'my-app' }))).toEqual({ action: 'pull', because: 'no pristine snapshot' });
    expect(planCopy(facts({ pristine: { target: 'my_app', ageHours: 30 }, pullFrom: 'my-app' }))).toEqual({ action: 'pull', because: 'pristine snapshot was 30 h old' });
    expect(planCopy(facts({ pristine: { target: 'my_app', ageHours: 1.5 }, pullFrom: 'the --from-url database', maxAgeMs: 3_600_000 }))).toEqual({ action: 'pull', because: 'pristine snapshot was 1.5 h old' });
  });

  it('refuses without a way to pull, naming the pull to run (exit 2)', () => {
    const none = errorOf(ConfigError, () => planCopy(facts({ to: 'my_app' })));
    expect(none.message).toBe('no pristine snapshot of my_app: rehearse needs a production copy to reset from');
    expect(none.hint).toContain('`drydock pull -a APP --to my_app`');
    expect(none.hint).toContain('`drydock rehearse -a APP`');
    const old = errorOf(ConfigError, () => planCopy(facts({ pristine: { target: 'my_app', ageHours: 30 } })));
    expect(old.message).toBe('the pristine snapshot of my_app is 30 h old, older than --max-age 24 h');
    expect(old.hint).toContain('`drydock pull -a APP --to my_app`');
    expect(old.hint).toContain('raise --max-age');
  });
});

describe('describeCopyMade', () => {
  it('says whether the copy was reset or pulled, and why', () => {
    expect(describeCopyMade({ database: 'my_app', reset: 'snapshot', ageSeconds: 7_200 })).toBe('my_app reset from its pristine snapshot (data 2 h old)');
    expect(describeCopyMade({ database: 'my_app', reset: 'pulled', ageSeconds: 0, pulledFrom: 'my-app', pulledBecause: 'pristine snapshot was 30 h old' })).toBe('my_app: pulled a fresh copy from my-app (pristine snapshot was 30 h old)');
  });
});

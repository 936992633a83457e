import { describe, expect, it } from 'vitest';

import { HerokuError } from '../../../src/errors.js';
import { classifyFailure } from '../../../src/heroku/cli.js';

/** What heroku 11.10.0 printed on stderr (exit 2) for each API error body, recorded against the emulator. */
const printed = {
  forbidden: ' ›   Error: You do not have access to the app errapp.\n ›\n ›   Error ID: forbidden\n',
  rateLimit: ' ›   Error: Your account reached the API rate limit\n ›   Please wait a few minutes before making new requests\n ›\n ›   Error ID: rate_limit\n',
  unavailable: ' ›   Error: API is temporarily unavailable.\n ›\n ›   Error ID: service_unavailable\n',
  internal: ' ›   Error: Internal server error.\n ›\n ›   Error ID: internal_server_error\n',
  busy: 'Starting backup of postgresql-emu-b6c3a4... !\n ›   Error: a transfer is currently in progress\n ›\n ›   Error ID: conflict\n',
  notFound: " ›   Error: Couldn't find that transfer.\n ›\n ›   Error ID: not_found\n",
};

function classify(stderr: string, app = 'errapp'): HerokuError {
  return classifyFailure({ stderr, stdout: '', command: 'heroku config --json --app errapp', exitCode: 2 }, app);
}

describe('heroku API error bodies', () => {
  it('maps 403 forbidden to a one-line refusal naming the app, with what to check', () => {
    const e = classify(printed.forbidden);
    expect(e.kind).toBe('forbidden');
    expect(e.message).toBe('Heroku denied access to app errapp: You do not have access to the app errapp.');
    expect(e.hint).toMatch(/heroku auth:whoami.*heroku access:add EMAIL -a errapp/);
  });

  it('maps 429 rate_limit to "wait a few minutes", the wrapped text on one line', () => {
    const e = classify(printed.rateLimit);
    expect(e.kind).toBe('rate-limited');
    expect(e.message).toBe("Heroku's API rate limit was reached (app errapp): Your account reached the API rate limit Please wait a few minutes before making new requests");
    expect(e.hint).toMatch(/75 a minute: wait a few minutes/);
  });

  it('maps 5xx ids to Heroku-side failures pointing at the status page', () => {
    for (const text of [printed.unavailable, printed.internal]) {
      const e = classify(text);
      expect(e.kind).toBe('unavailable');
      expect(e.message).toMatch(/^Heroku's API failed \(app errapp\): (API is temporarily unavailable|Internal server error)\.$/);
      expect(e.hint).toContain('https://status.heroku.com');
    }
  });

  it('maps a refused transfer to busy, and other not_found to a hint about names', () => {
    expect(classify(printed.busy).kind).toBe('busy');
    const nf = classify(printed.notFound);
    expect(nf.kind).toBe('failed');
    expect(nf.message).toBe("Heroku found nothing by that name (app errapp): Couldn't find that transfer.");
  });

  it('keeps one line and no secrets in the message', () => {
    const e = classify(' ›   Error: Internal server error for postgres://u:hunter2secret@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d1\n ›\n ›   Error ID: internal_server_error\n');
    expect(e.message).not.toContain('hunter2secret');
    expect(e.message).not.toContain('\n');
  });
});

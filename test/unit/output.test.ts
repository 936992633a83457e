import { afterEach, describe, expect, it } from 'vitest';

import { ChecksFailed, ConfigError, DrydockError, EXIT, HerokuError, InterruptedError } from '../../src/errors.js';
import { chooseMode, Output, timestamp, type OutputOptions } from '../../src/output.js';
import { clearSecrets, MASK, registerSecret } from '../../src/redact.js';

afterEach(() => clearSecrets());

const NOW = new Date('2024-03-04T05:06:07.890Z');
const STAMP = '[2024-03-04T05:06:07Z]';
const URL_WITH_PASSWORD = 'postgres://u:hunter22@db.example.com/app';

class MemorySink {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  get lines(): string[] {
    return this.text.split('\n').filter(Boolean);
  }
}

function makeOutput(options: OutputOptions & { tty?: boolean } = {}) {
  const stdout = new MemorySink(options.tty ?? false);
  const stderr = new MemorySink(false);
  const output = new Output({ ...options, stdout, stderr, now: () => NOW });
  return { output, stdout, stderr };
}

describe('chooseMode', () => {
  it('picks json for --json, plain without a TTY or in CI, interactive otherwise', () => {
    expect(chooseMode({ json: true, isTTY: true })).toBe('json');
    expect(chooseMode({ isTTY: false })).toBe('plain');
    expect(chooseMode({ isTTY: true, ci: true })).toBe('plain');
    expect(chooseMode({ isTTY: true })).toBe('interactive');
  });

  it('formats timestamps as ISO-8601 UTC without milliseconds', () => {
    expect(timestamp(NOW)).toBe('2024-03-04T05:06:07Z');
  });
});

describe('Output in json mode', () => {
  it('writes only the JSON result to stdout; progress and warnings go to stderr', () => {
    const { output, stdout, stderr } = makeOutput({ json: true, tty: true });
    expect(output.mode).toBe('json');
    output.info('checking versions');
    output.warn('pg_dump is old');
    output.result({ ok: true, tools: ['pg_dump'] }, () => 'human text');
    expect(JSON.parse(stdout.text)).toEqual({ ok: true, tools: ['pg_dump'] });
    expect(stdout.text).not.toContain('human text');
    expect(stderr.lines).toEqual([`${STAMP} checking versions`, `${STAMP} warning: pg_dump is old`]);
  });

  it('masks passwords inside the JSON result', () => {
    const { output, stdout } = makeOutput({ json: true });
    output.result({ url: URL_WITH_PASSWORD, nested: [{ conninfo: 'password=hunter22' }] }, () => '');
    expect(stdout.text).not.toContain('hunter22');
    expect(JSON.parse(stdout.text)).toEqual({ url: `postgres://u:${MASK}@db.example.com/app`, nested: [{ conninfo: `password=${MASK}` }] });
  });

  it('a failure prints one JSON object on stdout (error, hint, exit code); the human lines stay on stderr', () => {
    const { output, stdout, stderr } = makeOutput({ json: true });
    expect(output.fail(new ConfigError('bad flag', { hint: 'fix it' }))).toBe(EXIT.FAILURE);
    expect(JSON.parse(stdout.text)).toEqual({ ok: false, error: { message: 'bad flag', hint: 'fix it', exitCode: 2, type: 'ConfigError' } });
    expect(stderr.lines).toEqual(['error: bad flag', 'hint: fix it']);
  });

  it('every kind of failure gets its JSON object: interruptions, unexpected errors, Heroku kinds, masked secrets', () => {
    const cases: Array<[unknown, Record<string, unknown>]> = [
      [new InterruptedError('SIGTERM', 'interrupted (SIGTERM): stopped', { hint: 'run again' }), { message: 'interrupted (SIGTERM): stopped', hint: 'run again', exitCode: 143, type: 'InterruptedError', signal: 'SIGTERM' }],
      [new TypeError('x is undefined'), { message: 'unexpected failure: x is undefined', exitCode: 2, type: 'UnexpectedError' }],
      [new HerokuError('unknown-app', 'Heroku app nope not found'), { message: 'Heroku app nope not found', hint: null, exitCode: 2, type: 'HerokuError', kind: 'unknown-app' }],
      [new DrydockError(`cannot reach ${URL_WITH_PASSWORD}`), { message: `cannot reach postgres://u:${MASK}@db.example.com/app`, exitCode: 2 }],
    ];
    for (const [error, expected] of cases) {
      const { output, stdout } = makeOutput({ json: true });
      output.fail(error);
      const parsed = JSON.parse(stdout.text) as { ok: boolean; error: Record<string, unknown> };
      expect(parsed.ok).toBe(false);
      expect(parsed.error).toMatchObject(expected);
    }
  });

  it('after the result was written (checks that found problems), the result stays the only JSON document', () => {
    const { output, stdout } = makeOutput({ json: true });
    output.result({ ok: false, problems: 2 }, () => '');
    expect(output.fail(new ChecksFailed('2 problems', { ok: false, problems: 2 }))).toBe(EXIT.CHECKS_FAILED);
    expect(JSON.parse(stdout.text)).toEqual({ ok: false, problems: 2 });
    // Without a result first, the check's result travels inside the error object.
    const other = makeOutput({ json: true });
    other.output.fail(new ChecksFailed('2 problems', { problems: 2 }));
    expect(JSON.parse(other.stdout.text)).toMatchObject({ ok: false, error: { exitCode: 1, result: { problems: 2 } } });
  });

  it('human: false writes only the JSON object (commander printed its usage error itself)', () => {
    const { output, stdout, stderr } = makeOutput({ json: true });
    output.fail(new ConfigError("unknown option '--x'"), { human: false });
    expect(stderr.text).toBe('');
    expect(JSON.parse(stdout.text)).toMatchObject({ ok: false, error: { message: "unknown option '--x'" } });
  });
});

describe('Output in plain mode', () => {
  it('starts every line with an ISO timestamp in brackets', () => {
    const { output, stdout, stderr } = makeOutput({ tty: false });
    expect(output.mode).toBe('plain');
    output.info('first\nsecond');
    output.warn('careful');
    expect(stdout.lines).toEqual([`${STAMP} first`, `${STAMP} second`]);
    expect(stderr.lines).toEqual([`${STAMP} warning: careful`]);
    for (const line of [...stdout.lines, ...stderr.lines]) expect(line).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] /);
  });

  it('is used in CI even on a TTY', () => {
    expect(makeOutput({ tty: true, ci: true }).output.mode).toBe('plain');
  });

  it('prints the rendered result as is', () => {
    const { output, stdout } = makeOutput();
    output.result({ n: 2 }, (d) => `found ${d.n} problems`);
    expect(stdout.text).toBe('found 2 problems\n');
  });

  it('shows debug lines only when verbose', () => {
    const quiet = makeOutput();
    quiet.output.debug('details');
    expect(quiet.stderr.text).toBe('');
    const loud = makeOutput({ verbose: true });
    loud.output.debug('details');
    expect(loud.stderr.lines).toEqual([`${STAMP} debug: details`]);
  });
});

describe('Output in interactive mode', () => {
  it('writes lines without timestamps', () => {
    const { output, stdout } = makeOutput({ tty: true });
    expect(output.mode).toBe('interactive');
    output.info('hello');
    expect(stdout.text).toBe('hello\n');
  });
});

describe('Output.fail', () => {
  it('prints a known error as error and hint lines on stderr and returns its exit code', () => {
    const { output, stdout, stderr } = makeOutput();
    const code = output.fail(new DrydockError('pg_restore 15.4 is older than production Postgres 16.2', { hint: 'install PostgreSQL 16 client tools' }));
    expect(code).toBe(EXIT.FAILURE);
    expect(stderr.lines).toEqual(['error: pg_restore 15.4 is older than production Postgres 16.2', 'hint: install PostgreSQL 16 client tools']);
    expect(stdout.text).toBe('');
  });

  it('returns 1 for failed checks', () => {
    const { output, stderr } = makeOutput();
    expect(output.fail(new ChecksFailed('2 lint problems', { problems: 2 }))).toBe(EXIT.CHECKS_FAILED);
    expect(stderr.lines).toEqual(['error: 2 lint problems']);
  });

  it('keeps a multi-line message on one line', () => {
    const { output, stderr } = makeOutput();
    output.fail(new ConfigError('first line\n  second line'));
    expect(stderr.lines).toEqual(['error: first line second line']);
  });

  it('shortens input echoed in an error (a 100,000-character database name), keeping the message around it', () => {
    const { output, stderr } = makeOutput();
    const name = `${'d'.repeat(99_990)}_end`;
    output.fail(new DrydockError(`database "${name}" does not exist on 127.0.0.1`, { hint: `create "${name}" first` }));
    const [error, hint] = stderr.lines;
    expect(error!.length).toBeLessThan(300);
    expect(error).toMatch(/^error: database "d{99}…\(99856 characters left out\)…d+_end" does not exist on 127\.0\.0\.1$/);
    expect(hint!.length).toBeLessThan(300);
    const spaced = makeOutput();
    spaced.output.fail(new DrydockError(`bad value: ${'ab '.repeat(50_000)}`));
    expect(spaced.stderr.lines[0]!.length).toBeLessThan(2_100);
    expect(spaced.stderr.lines[0]).toMatch(/^error: bad value: ab ab/);
  });

  it('masks a long secret before shortening the line', () => {
    const secret = `s3cr3t${'x'.repeat(500)}`;
    registerSecret(secret);
    const { output, stderr } = makeOutput();
    output.fail(new DrydockError(`token ${secret} refused`));
    expect(stderr.text).not.toContain('s3cr3t');
    expect(stderr.lines[0]).toBe(`error: token ${MASK} refused`);
  });

  it('shows the cause chain of a known error only when verbose', () => {
    const error = new ConfigError('could not read config', { hint: 'check the file', cause: new Error('ENOENT: drydock.json') });
    const quiet = makeOutput();
    quiet.output.fail(error);
    expect(quiet.stderr.text).not.toContain('cause:');
    const loud = makeOutput({ verbose: true });
    loud.output.fail(error);
    expect(loud.stderr.lines).toContain('cause: ENOENT: drydock.json');
  });

  it('reports an unexpected error as a bug with exit code 2 and no stack unless verbose', () => {
    const { output, stderr } = makeOutput();
    const code = output.fail(new TypeError('cannot read properties of undefined'));
    expect(code).toBe(2);
    expect(stderr.lines).toEqual([
      'error: unexpected failure: cannot read properties of undefined',
      'hint: this is a bug in drydock; please report it with the output of the same command run with --verbose',
    ]);
    expect(stderr.text).not.toMatch(/\n\s+at /);
  });

  it('prints the stack of an unexpected error when verbose', () => {
    const { output, stderr } = makeOutput({ verbose: true });
    output.fail(new Error('boom'));
    expect(stderr.text).toMatch(/\n\s+at /);
  });

  it('handles thrown non-errors', () => {
    const { output, stderr } = makeOutput();
    expect(output.fail('a string')).toBe(2);
    expect(stderr.lines[0]).toBe('error: unexpected failure: a string');
  });
});

describe('Output masking', () => {
  it('masks passwords in info, warn, debug, result and fail, in every mode', () => {
    registerSecret('tok-abcdef');
    for (const options of [{ tty: true }, { tty: false }, { json: true }] as const) {
      const { output, stdout, stderr } = makeOutput({ ...options, verbose: true });
      output.info(`pulling from ${URL_WITH_PASSWORD}`);
      output.warn('PGPASSWORD=hunter22 is set');
      output.debug('api key tok-abcdef');
      output.result({ url: URL_WITH_PASSWORD }, (d) => `url: ${d.url}`);
      output.fail(new ConfigError(`cannot reach ${URL_WITH_PASSWORD}`, { hint: 'password=hunter22 is wrong', cause: new Error(URL_WITH_PASSWORD) }));
      output.fail(new Error(`crash near ${URL_WITH_PASSWORD}`));
      const all = stdout.text + stderr.text;
      expect(all, JSON.stringify(options)).not.toContain('hunter22');
      expect(all).not.toContain('tok-abcdef');
      expect(all).toContain(MASK);
    }
  });
});

describe('Output.quieter (a step inside a larger command)', () => {
  const classes = async () => {
    const { ListrLogger, ProcessOutput } = await import('listr2');
    return { ListrLogger, ProcessOutput };
  };

  it('turns progress and problem lines into debug lines, keeps warnings, and renders task lists silently', async () => {
    const { output, stdout, stderr } = makeOutput();
    const quiet = output.quieter();
    quiet.info('applied 20260101000000_x.sql');
    quiet.problems('x.sql:2:1: error: CREATE INDEX blocks writes');
    quiet.warn(`the INVALID index x was left (${URL_WITH_PASSWORD})`);
    expect(stdout.text).toBe('');
    expect(stderr.lines).toEqual([`${STAMP} warning: the INVALID index x was left (postgres://u:${MASK}@db.example.com/app)`]);
    expect(quiet.listrOptions(await classes()).renderer).toBe('silent');
    // The original is unchanged.
    output.info('rehearse: applying x.sql');
    expect(stdout.lines).toEqual([`${STAMP} rehearse: applying x.sql`]);
    expect(output.listrOptions(await classes()).renderer).toBe('simple');
  });

  it('shows them with --verbose, as debug lines, with the task lists', async () => {
    const { output, stdout, stderr } = makeOutput({ verbose: true });
    const quiet = output.quieter();
    quiet.info('applied 20260101000000_x.sql');
    expect(stdout.text).toBe('');
    expect(stderr.lines).toEqual([`${STAMP} debug: applied 20260101000000_x.sql`]);
    expect(quiet.listrOptions(await classes()).renderer).toBe('simple');
  });
});

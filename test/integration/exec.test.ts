import { afterEach, describe, expect, it } from 'vitest';

import { ToolError } from '../../src/errors.js';
import { run } from '../../src/exec.js';
import { clearSecrets, MASK } from '../../src/redact.js';

/** The running Node binary: a real program that is always installed. */
const NODE = process.execPath;

async function toolErrorOf(promise: Promise<unknown>): Promise<ToolError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ToolError);
    return error as ToolError;
  }
  throw new Error('expected a ToolError');
}

afterEach(() => {
  clearSecrets();
  delete process.env.AWS_SECRET_ACCESS_KEY;
});

describe('run', () => {
  it('returns stdout, stderr and the exit code of a successful program', async () => {
    const result = await run(NODE, ['-e', 'process.stdout.write("out\\n"); process.stderr.write("err\\n")']);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'out\n', stderr: 'err\n' });
    expect(result.command).toContain('-e');
  });

  it('passes input on stdin and closes it', async () => {
    const result = await run(NODE, ['-e', 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(s.toUpperCase()))'], { input: 'hello' });
    expect(result.stdout).toBe('HELLO');
  });

  it('turns a non-zero exit into a ToolError with the tail of stderr, masked', async () => {
    const script = 'console.error("connecting to postgres://u:hunter22@h/db"); console.error("FATAL: it broke"); process.exit(3)';
    const error = await toolErrorOf(run(NODE, ['-e', script], { label: 'pg_dump' }));
    expect(error.message).toMatch(/^pg_dump failed \(exit 3\): /);
    expect(error.message).toContain('FATAL: it broke');
    expect(error.toolExitCode).toBe(3);
    expect(error.stderrTail).toBe(`connecting to postgres://u:${MASK}@h/db\nFATAL: it broke`);
    expect(`${error.message} ${error.stderrTail} ${error.command}`).not.toContain('hunter22');
  });

  it('resolves with the exit code when reject is false', async () => {
    const result = await run(NODE, ['-e', 'process.exit(4)'], { reject: false });
    expect(result.exitCode).toBe(4);
  });

  it('reports a missing binary as "not found" with a hint', async () => {
    const error = await toolErrorOf(run('drydock-no-such-binary', ['--version']));
    expect(error.message).toMatch(/drydock-no-such-binary not found/);
    expect(error.hint).toMatch(/install/);
    expect(error.toolExitCode).toBeUndefined();
  });

  it('kills a program that runs past its timeout', async () => {
    const started = Date.now();
    const error = await toolErrorOf(run(NODE, ['-e', 'setTimeout(() => {}, 20000)'], { timeoutMs: 300, label: 'psql' }));
    expect(error.message).toBe('psql timed out after 300 ms');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('keeps a timeout longer than a Node timer takes (30 days): the program runs to its end, no overflow warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const result = await run(NODE, ['-e', 'setTimeout(() => process.stdout.write("done"), 300)'], { timeoutMs: 30 * 86_400_000 });
      expect(result.stdout).toBe('done');
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('gives the child only allowlisted variables plus the extras', async () => {
    process.env.AWS_SECRET_ACCESS_KEY = 'do-not-leak';
    const script = 'process.stdout.write(JSON.stringify({aws: process.env.AWS_SECRET_ACCESS_KEY ?? null, pg: process.env.PGAPPNAME ?? null, path: Boolean(process.env.PATH)}))';
    const result = await run(NODE, ['-e', script], { env: { PGAPPNAME: 'drydock-test' } });
    expect(JSON.parse(result.stdout)).toEqual({ aws: null, pg: 'drydock-test', path: true });
  });

  it('streams stderr lines, masked, to onStderrLine', async () => {
    const lines: string[] = [];
    const script = 'process.stderr.write("first\\nsecond postgres://u:pw1234@h/db\\n"); setTimeout(() => process.stderr.write("third\\n"), 20)';
    await run(NODE, ['-e', script], { onStderrLine: (line) => lines.push(line) });
    expect(lines).toEqual(['first', `second postgres://u:${MASK}@h/db`, 'third']);
  });
});

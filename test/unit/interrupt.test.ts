import { describe, expect, it } from 'vitest';

import { InterruptedError } from '../../src/errors.js';
import { installInterruptHandlers, mayLeave, sleep } from '../../src/interrupt.js';

function fakeProcess() {
  const handlers = new Map<string, () => void>();
  const said: string[] = [];
  const exits: number[] = [];
  const hooks = {
    say: (line: string) => void said.push(line),
    exit: (code: number) => void exits.push(code),
    on: (name: string, handler: () => void) => {
      handlers.set(name, handler);
      return () => void handlers.delete(name);
    },
  };
  return { hooks, handlers, said, exits };
}

describe('installInterruptHandlers', () => {
  it('aborts on the first signal, exits with its code on the second, naming what may be left', () => {
    const p = fakeProcess();
    const { controller, uninstall } = installInterruptHandlers(p.hooks);
    const done = mayLeave('scratch database drydock_pull_1_abc');
    p.handlers.get('SIGTERM')!();
    expect(controller.signal.aborted).toBe(true);
    expect(controller.signal.reason).toBeInstanceOf(InterruptedError);
    expect((controller.signal.reason as InterruptedError).exitCode).toBe(143);
    expect(p.said[0]).toMatch(/^interrupted \(SIGTERM\): stopping and cleaning up/);
    expect(p.exits).toEqual([]);
    p.handlers.get('SIGINT')!();
    expect(p.exits).toEqual([143]);
    expect(p.said[1]).toMatch(/exiting now.*may be left: scratch database drydock_pull_1_abc/);
    done();
    uninstall();
    expect(p.handlers.size).toBe(0);
  });

  it('SIGHUP (a closed terminal) interrupts like SIGTERM, exit 129; a closed output interrupts as SIGPIPE, exit 141', () => {
    const p = fakeProcess();
    const { controller, uninstall } = installInterruptHandlers(p.hooks);
    p.handlers.get('SIGHUP')!();
    expect((controller.signal.reason as InterruptedError).exitCode).toBe(129);
    expect(p.said[0]).toMatch(/^interrupted \(SIGHUP\): stopping and cleaning up; send a signal again to exit at once/);
    uninstall();
    const q = fakeProcess();
    const second = installInterruptHandlers(q.hooks);
    second.interrupt('SIGPIPE');
    expect((second.controller.signal.reason as InterruptedError).exitCode).toBe(141);
    expect(q.exits).toEqual([]);
    second.uninstall();
  });

  it('sleep ends early and throws the reason when the signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new InterruptedError('SIGINT', 'interrupted (SIGINT)')), 20);
    await expect(sleep(10_000, controller.signal)).rejects.toBeInstanceOf(InterruptedError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

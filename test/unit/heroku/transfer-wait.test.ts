import { describe, expect, it } from 'vitest';

import { HerokuError } from '../../../src/errors.js';
import type { BackupSummary } from '../../../src/heroku/cli.js';
import { waitForTransferSlot } from '../../../src/heroku/transfer-wait.js';

const busy = (): HerokuError => new HerokuError('busy', 'Heroku refused the transfer: a transfer is currently in progress');

function running(id: string, status: BackupSummary['status'] = 'running'): BackupSummary {
  return { id, num: Number(id.slice(1)), kind: 'backup', status, createdAt: undefined, finishedAt: undefined, sizeBytes: undefined, database: 'DATABASE', scheduled: false };
}

/** A clock that only moves when the code sleeps. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return { now: () => now, sleep: async (ms: number) => void (sleeps.push(ms), (now += ms)), sleeps };
}

describe('waitForTransferSlot', () => {
  it('waits for the transfer in progress with a growing interval, says so once, then tries again', async () => {
    const time = fakeTime();
    const lists = [[running('b001')], [running('b001')], [running('b001')], []];
    const messages: string[] = [];
    let attempts = 0;
    const result = await waitForTransferSlot(
      async () => {
        attempts += 1;
        if (attempts === 1) throw busy();
        return 'b002';
      },
      { app: 'app', what: 'backup of app', timeoutMs: 600_000, unfinished: async () => lists.shift() ?? [], onWait: (m) => messages.push(m), ...time, firstDelayMs: 1_000, maxDelayMs: 3_000 },
    );
    expect(result).toBe('b002');
    expect(attempts).toBe(2);
    expect(time.sleeps).toEqual([1_000, 2_000, 3_000]);
    expect(messages).toEqual([expect.stringMatching(/^waiting for backup b001 \(running\) to finish: Heroku runs one transfer per database at a time/)]);
  });

  it('gives up within the time limit, naming the transfer and how to stop it', async () => {
    const time = fakeTime();
    const error = await waitForTransferSlot(() => Promise.reject(busy()), {
      app: 'app', what: 'backup of app', timeoutMs: 10_000, unfinished: async () => [running('b007', 'pending')], ...time, firstDelayMs: 2_000, maxDelayMs: 2_000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HerokuError);
    expect((error as HerokuError).kind).toBe('busy');
    expect((error as HerokuError).message).toBe('the backup of app did not start: backup b007 is still pending after 10 s (Heroku runs one transfer per database at a time)');
    expect((error as HerokuError).hint).toMatch(/heroku pg:backups:cancel b007 -a app.*--transfer-timeout/);
    expect(time.now()).toBeLessThanOrEqual(10_000);
  });

  it('passes other errors through at once, and hands each attempt the time left', async () => {
    const time = fakeTime();
    const lefts: number[] = [];
    await expect(
      waitForTransferSlot(async (left) => {
        lefts.push(left);
        throw new HerokuError('forbidden', 'no');
      }, { app: 'app', what: 'backup', timeoutMs: 60_000, unfinished: async () => [], ...time }),
    ).rejects.toMatchObject({ kind: 'forbidden' });
    expect(lefts).toEqual([60_000]);
  });
});

describe('waitForTransferSlot when the list shows nothing', () => {
  it('says it was refused and tries again after a pause', async () => {
    const time = fakeTime();
    const messages: string[] = [];
    let attempts = 0;
    const result = await waitForTransferSlot(
      async () => {
        attempts += 1;
        if (attempts < 3) throw busy();
        return 'ok';
      },
      { app: 'app', what: 'backup of app', timeoutMs: 60_000, unfinished: async () => [], onWait: (m) => messages.push(m), ...time, firstDelayMs: 2_000 },
    );
    expect(result).toBe('ok');
    expect(time.sleeps).toEqual([2_000, 2_000]);
    expect(messages).toEqual(['Heroku refused the backup of app: a transfer is currently in progress (and it is already over, or not listed yet); trying again in 2 s']);
  });
});

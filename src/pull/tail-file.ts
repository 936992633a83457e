/**
 * Read a file while another writer is still appending to it (a download landing in its .part file),
 * like `tail -c +1 -f`: the stream ends after `finish()` once everything written is read, or early
 * after `fail()` (whoever reads it then sees a truncated input and fails).
 */
import { closeSync, openSync, read as readCallback } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FileTail {
  readable: Readable;
  /** The writer is done: end after the last byte. */
  finish(): void;
  /** The writer failed: end now. */
  fail(): void;
  /** Release the file when the stream was never read (a reader that started closes it at its end). */
  dispose(): void;
}

const CHUNK = 1 << 20;

const readAt = promisify(readCallback);

/** Follow `path` from its first byte. The file is opened now, so a later rename (the .part becoming the cached file) does not matter. */
export function tailFile(path: string, options: { pollMs?: number } = {}): FileTail {
  const pollMs = options.pollMs ?? 50;
  let state: 'writing' | 'finished' | 'failed' = 'writing';
  const fd = openSync(path, 'r');
  let started = false;
  let closed = false;
  const close = (): void => {
    if (!closed) closeSync(fd);
    closed = true;
  };
  async function* read(): AsyncGenerator<Buffer> {
    started = true;
    try {
      let position = 0;
      for (;;) {
        if (state === 'failed') return;
        const finished = state === 'finished';
        const buffer = Buffer.allocUnsafe(CHUNK);
        const { bytesRead } = await readAt(fd, buffer, 0, CHUNK, position);
        // The writer may have failed while this read was in flight: nothing read from then on counts.
        if ((state as string) === 'failed') return;
        if (bytesRead > 0) {
          position += bytesRead;
          yield buffer.subarray(0, bytesRead);
          continue;
        }
        // Nothing new: done if the writer had finished before this read, else wait for more.
        if (finished) return;
        await sleep(pollMs);
      }
    } finally {
      close();
    }
  }
  return {
    readable: Readable.from(read(), { objectMode: false }),
    finish: () => {
      if (state === 'writing') state = 'finished';
    },
    fail: () => {
      state = 'failed';
    },
    dispose: () => {
      if (!started) close();
    },
  };
}

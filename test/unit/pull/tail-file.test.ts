import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';

import { tailFile } from '../../../src/pull/tail-file.js';

const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-tail-'));
  dirs.push(dir);
  const file = join(dir, 'backup.dump.part');
  writeFileSync(file, '');
  return file;
}

async function collect(readable: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of readable) text += (chunk as Buffer).toString();
  return text;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('tailFile', () => {
  it('reads what a writer appends until it finishes, even after the file is renamed', async () => {
    const file = tempFile();
    const tail = tailFile(file, { pollMs: 5 });
    const reading = collect(tail.readable);
    for (let i = 0; i < 5; i++) {
      appendFileSync(file, `part${i};`);
      await sleep(15);
    }
    renameSync(file, file.replace(/\.part$/, ''));
    appendFileSync(file.replace(/\.part$/, ''), 'last;');
    tail.finish();
    expect(await reading).toBe('part0;part1;part2;part3;part4;last;');
  });

  it('ends early when the writer fails, and reads nothing more', async () => {
    const file = tempFile();
    const tail = tailFile(file, { pollMs: 5 });
    const reading = collect(tail.readable);
    appendFileSync(file, 'head;');
    await sleep(30);
    tail.fail();
    appendFileSync(file, 'never;');
    expect(await reading).toBe('head;');
  });

  it('keeps waiting while the writer is slow', async () => {
    const file = tempFile();
    const tail = tailFile(file, { pollMs: 5 });
    const reading = collect(tail.readable);
    await sleep(60);
    appendFileSync(file, 'late;');
    await sleep(20);
    tail.finish();
    expect(await reading).toBe('late;');
  });
});

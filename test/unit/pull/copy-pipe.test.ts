import { PassThrough } from 'node:stream';

import type pg from 'pg';
import { describe, expect, it } from 'vitest';

import { copyOut, type CopyOut } from '../../../src/pull/copy-pipe.js';

/** One protocol message: type byte, length (itself included), body. */
function message(type: string, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  const header = Buffer.alloc(5);
  header[0] = type.charCodeAt(0);
  header.writeUInt32BE(payload.length + 4, 1);
  return Buffer.concat([header, payload]);
}

/** Split CopyData messages back into their payloads (checking the framing on the way). */
function payloads(framed: Buffer): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  while (i < framed.length) {
    if (framed[i] !== 0x64) throw new Error(`not a CopyData message at ${i}`);
    const length = framed.readUInt32BE(i + 1);
    if (i + 1 + length > framed.length) throw new Error(`message at ${i} runs past the end`);
    parts.push(framed.subarray(i + 5, i + 1 + length));
    i += 1 + length;
  }
  return Buffer.concat(parts);
}

/**
 * Run a CopyOut against a fake pg connection whose socket delivers `chunks`. Like pg, the fake takes
 * the socket back at the end and reports the command's completion (or the error) to the query.
 */
async function run(chunks: Buffer[]): Promise<{ out: Buffer; rest: Buffer; query: CopyOut }> {
  const socket = new PassThrough();
  let rest = Buffer.alloc(0);
  let reported = false;
  const query = copyOut('COPY t TO STDOUT');
  const pgHandler = (chunk: Buffer) => {
    rest = Buffer.concat([rest, chunk]);
    if (reported) return;
    if (rest[0] === 0x45) {
      reported = true;
      query.handleError(new Error('server error'));
    } else if (rest.includes(Buffer.from('Z'))) {
      reported = true;
      query.handleCommandComplete({ text: 'COPY 4' });
      query.handleReadyForQuery();
    }
  };
  socket.on('data', pgHandler);
  const queries: string[] = [];
  query.submit({ stream: socket, query: (text: string) => queries.push(text) } as unknown as pg.Connection);
  expect(queries).toEqual(['COPY t TO STDOUT']);
  const feed = (async () => {
    for (const chunk of chunks) {
      socket.write(chunk);
      await new Promise((r) => setImmediate(r));
    }
  })();
  const parts: Buffer[] = [];
  for await (const part of query) parts.push(part as Buffer);
  await feed;
  return { out: Buffer.concat(parts), rest, query };
}

const rows = [Buffer.from('first row\n'), Buffer.alloc(0), Buffer.alloc(70_000, 7), Buffer.from('last\n')];
const tail = Buffer.concat([message('c'), message('C', 'COPY 4\0'), message('Z', 'T')]);
const stream = Buffer.concat([
  message('H', Buffer.from([0, 0, 1, 0, 0])),
  message('d', rows[0]),
  message('N', 'a notice'),
  message('d', rows[1]),
  message('S', 'TimeZone\0UTC\0'),
  message('d', rows[2]),
  message('d', rows[3]),
  tail,
]);

function splitAt(buffer: Buffer, cuts: number[]): Buffer[] {
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < buffer.length).sort((a, b) => a - b), buffer.length];
  // Copies: the reader compacts chunks in place.
  return bounds.slice(1).map((end, k) => Buffer.from(buffer.subarray(bounds[k], end)));
}

describe('copyOut', () => {
  it('passes the rows through re-framed, drops interleaved messages and hands the rest back to pg', async () => {
    const { out, rest, query } = await run([Buffer.from(stream)]);
    expect(payloads(out).equals(Buffer.concat(rows))).toBe(true);
    expect(rest).toEqual(tail);
    expect(query.rowCount).toBe(4);
  });

  it('gives the same bytes however the socket splits the messages', async () => {
    const expected = Buffer.concat(rows);
    // Every cut in the first 60 bytes (inside headers, lengths and small bodies) and around the big row's end.
    const bigEnd = stream.length - tail.length - message('d', rows[3]).length;
    const cuts = [...Array.from({ length: 60 }, (_, k) => k + 1), ...Array.from({ length: 12 }, (_, k) => bigEnd - 6 + k), stream.length - tail.length + 2];
    for (const cut of cuts) {
      const { out, rest, query } = await run(splitAt(stream, [cut]));
      expect(payloads(out).equals(expected), `cut at ${cut}`).toBe(true);
      expect(rest, `cut at ${cut}`).toEqual(tail);
      // Progress: every payload byte and every row counted once, the interleaved messages not at all.
      expect([query.bytesRead, query.messagesRead], `cut at ${cut}`).toEqual([expected.length, rows.length]);
    }
    // One byte at a time through the headers and small rows, then into the big row and through the end.
    const { out, rest } = await run(splitAt(stream, [...Array.from({ length: 120 }, (_, k) => k), ...Array.from({ length: 200 }, (_, k) => bigEnd - 100 + k)]));
    expect(payloads(out).equals(expected)).toBe(true);
    expect(rest).toEqual(tail);
  });

  it('fails with the server error that ends the data', async () => {
    const broken = Buffer.concat([message('H', Buffer.from([0, 0, 0])), message('d', 'one\n'), message('E', 'SERROR\0'), message('Z', 'E')]);
    await expect(run([broken])).rejects.toThrow('server error');
  });
});

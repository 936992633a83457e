import { describe, expect, it } from 'vitest';

import { decodeBind, decodeError, decodeParse, decodeQuery, encodeMessage, MessageFramer, rowCountOfTag, startupKind, startupLength, startupParameters, WireProtocolError, type WireMessage } from '../../../src/rehearse/pg-wire.js';
import { WireRecording, type ParsedSql } from '../../../src/rehearse/wire-session.js';

const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
const int16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

const query = (sql: string): Buffer => encodeMessage('Q', cstr(sql));
const parse = (sql: string, name = ''): Buffer => encodeMessage('P', Buffer.concat([cstr(name), cstr(sql), int16(0)]));
const bind = (params: Array<string | null>, statement = '', portal = ''): Buffer =>
  encodeMessage('B', Buffer.concat([cstr(portal), cstr(statement), int16(0), int16(params.length), ...params.map((p) => (p === null ? int32(-1) : Buffer.concat([int32(Buffer.byteLength(p)), Buffer.from(p)]))), int16(0)]));
const execute = (portal = ''): Buffer => encodeMessage('E', Buffer.concat([cstr(portal), int32(0)]));
const sync = (): Buffer => encodeMessage('S');
const complete = (tag: string): Buffer => encodeMessage('C', cstr(tag));
const ready = (status: 'I' | 'T' | 'E'): Buffer => encodeMessage('Z', Buffer.from(status, 'latin1'));
const error = (fields: Record<string, string>): Buffer => encodeMessage('E', Buffer.concat([...Object.entries(fields).map(([k, v]) => Buffer.concat([Buffer.from(k), cstr(v)])), Buffer.from([0])]));
const copyData = (bytes: number): Buffer => encodeMessage('d', Buffer.alloc(bytes, 120));

/** Feed `stream` to a framer in pieces cut at `cuts`; the messages, each with its end as an offset in the whole stream. */
function frameInPieces(stream: Buffer, cuts: number[], framer = new MessageFramer()): Array<WireMessage & { at: number }> {
  const out: Array<WireMessage & { at: number }> = [];
  let from = 0;
  for (const to of [...cuts, stream.length]) {
    for (const m of framer.push(stream.subarray(from, to))) out.push({ ...m, at: from + m.end });
    from = to;
  }
  return out;
}

describe('MessageFramer', () => {
  const stream = Buffer.concat([query('SELECT 1'), parse('INSERT INTO t VALUES ($1)'), bind(['x']), execute(), sync(), copyData(70_000), query('COMMIT')]);
  const whole = frameInPieces(stream, []);

  it('splits a stream into its messages, each ending where the next begins', () => {
    expect(whole.map((m) => m.type)).toEqual(['Q', 'P', 'B', 'E', 'S', 'd', 'Q']);
    expect(whole.at(-1)!.at).toBe(stream.length);
    expect(decodeQuery(whole[0]!.body!)).toBe('SELECT 1');
    expect(decodeParse(whole[1]!.body!).sql).toBe('INSERT INTO t VALUES ($1)');
    expect(decodeBind(whole[2]!.body!).params).toEqual(['x']);
  });

  it('gives the same messages however the stream is cut: one byte at a time, inside a header, packed', () => {
    const bytes = [...Array(stream.length - 1).keys()].map((i) => i + 1);
    const oneByOne = frameInPieces(stream, bytes);
    expect(oneByOne.map((m) => [m.type, m.at, m.body?.toString('hex')])).toEqual(whole.map((m) => [m.type, m.at, m.body?.toString('hex')]));
    // Cut inside the first message's length field, and between the type byte and the length of the third.
    const third = query('SELECT 1').length + parse('INSERT INTO t VALUES ($1)').length;
    const odd = frameInPieces(stream, [2, third + 1, third + 3, stream.length - 5]);
    expect(odd.map((m) => [m.type, m.at])).toEqual(whole.map((m) => [m.type, m.at]));
  });

  it('does not keep the bodies it is not asked for, and cuts long ones', () => {
    const framer = new MessageFramer({ keep: (t) => t !== 'd', maxBody: 4 });
    const messages = frameInPieces(stream, [100, 30_000], framer);
    const copy = messages.find((m) => m.type === 'd')!;
    expect(copy.body).toBeUndefined();
    expect(copy.length).toBe(70_000);
    const first = messages[0]!;
    expect(first).toMatchObject({ truncated: true });
    expect(first.body!.toString()).toBe('SELE');
  });

  it('refuses a length shorter than the length field itself', () => {
    const framer = new MessageFramer();
    expect(() => framer.push(Buffer.from([81, 0, 0, 0, 2]))).toThrow(WireProtocolError);
  });
});

describe('start-up packets', () => {
  it('tells an SSL request from a start-up message and reads its parameters', () => {
    const ssl = Buffer.concat([int32(8), int32(80877103)]);
    expect(startupLength(ssl.subarray(0, 3))).toBeUndefined();
    expect(startupLength(ssl)).toBe(8);
    expect(startupKind(ssl)).toBe('ssl');
    const body = Buffer.concat([int32(196608), cstr('user'), cstr('app'), cstr('database'), cstr('db'), Buffer.from([0])]);
    const startup = Buffer.concat([int32(body.length + 4), body]);
    expect(startupKind(startup)).toBe('startup');
    expect(startupParameters(startup)).toEqual({ user: 'app', database: 'db' });
  });
});

describe('decoders', () => {
  it('reads the tag row counts and error fields', () => {
    expect(rowCountOfTag('INSERT 0 3')).toBe(3);
    expect(rowCountOfTag('UPDATE 12')).toBe(12);
    expect(rowCountOfTag('COPY 5')).toBe(5);
    expect(rowCountOfTag('CREATE INDEX')).toBeNull();
    const e = decodeError(error({ S: 'ERROR', V: 'ERROR', C: '23505', M: 'could not create unique index "x"', D: 'Key (code)=(a) is duplicated.' }).subarray(5));
    expect(e).toEqual({ severity: 'ERROR', code: '23505', message: 'could not create unique index "x"', detail: 'Key (code)=(a) is duplicated.' });
  });
});

describe('WireSession', () => {
  /** A splitter good enough for these tests: statements separated by ';', kinds by their first word. */
  const split = (sql: string): ParsedSql[] =>
    sql
      .split(';')
      .map((t) => t.trim())
      .filter(Boolean)
      .map((text) => {
        const word = text.split(/\s+/)[0]!.toUpperCase();
        if (word === 'BEGIN' || word === 'COMMIT' || word === 'ROLLBACK') return { text, kind: 'TransactionStmt', node: { TransactionStmt: { kind: word === 'BEGIN' ? 'TRANS_STMT_BEGIN' : word === 'COMMIT' ? 'TRANS_STMT_COMMIT' : 'TRANS_STMT_ROLLBACK' } } };
        return { text, kind: `${word}Stmt`, node: {} };
      });

  function session() {
    let t = 0;
    const recording = new WireRecording(() => t, split);
    const s = recording.session();
    const feed = (side: 'f' | 'b', bytes: Buffer, at: number): void => {
      t = at;
      const framer = new MessageFramer();
      for (const m of framer.push(bytes)) {
        if (side === 'f') s.frontend(m);
        else s.backend(m);
      }
    };
    feed('b', ready('I'), 0);
    return { recording, feed, close: (at: number) => ((t = at), s.closed()) };
  }

  it('times each statement of a multi-statement query from the end of the one before', () => {
    const { recording, feed } = session();
    feed('f', query('BEGIN; CREATE INDEX i ON t (a); COMMIT'), 10);
    feed('b', complete('BEGIN'), 11);
    feed('b', complete('CREATE INDEX'), 50);
    feed('b', Buffer.concat([complete('COMMIT'), ready('I')]), 52);
    expect(recording.statements.map((s) => [s.sql, s.startMs, s.endMs, s.inTransaction, s.transaction])).toEqual([
      ['BEGIN', 10, 11, true, 0],
      ['CREATE INDEX i ON t (a)', 11, 50, true, 0],
      ['COMMIT', 50, 52, true, 0],
    ]);
    expect(recording.transactions).toEqual([{ connection: 1, startMs: 10, endMs: 52, outcome: 'commit' }]);
  });

  it('pairs Execute with its Parse and Bind, keeps the parameters, and skips to Sync after an error', () => {
    const { recording, feed } = session();
    feed('f', Buffer.concat([parse('INSERT INTO knex_migrations (name) VALUES ($1)'), bind(['001_a.js']), execute(), sync()]), 5);
    feed('b', Buffer.concat([encodeMessage('1'), encodeMessage('2'), complete('INSERT 0 1'), ready('I')]), 7);
    feed('f', Buffer.concat([parse('UPDATE t SET a = $1'), bind(['1']), execute(), parse('SELECT 2'), bind([]), execute(), sync()]), 10);
    feed('b', Buffer.concat([encodeMessage('1'), encodeMessage('2'), error({ C: '42P01', M: 'relation "t" does not exist' }), ready('I')]), 12);
    expect(recording.statements.map((s) => [s.sql, s.params, s.rowCount, s.error?.code, s.startMs, s.endMs])).toEqual([
      ['INSERT INTO knex_migrations (name) VALUES ($1)', ['001_a.js'], 1, undefined, 5, 7],
      ['UPDATE t SET a = $1', ['1'], null, '42P01', 10, 12],
    ]);
  });

  it('records a transaction that failed and was rolled back, from ReadyForQuery', () => {
    const { recording, feed } = session();
    feed('f', query('BEGIN'), 1);
    feed('b', Buffer.concat([complete('BEGIN'), ready('T')]), 2);
    feed('f', query('CREATE UNIQUE INDEX u ON t (a)'), 3);
    feed('b', Buffer.concat([error({ C: '23505', M: 'duplicate' }), ready('E')]), 9);
    feed('f', query('COMMIT'), 10);
    feed('b', Buffer.concat([complete('ROLLBACK'), ready('I')]), 11);
    expect(recording.statements.map((s) => [s.sql, s.inTransaction, s.transaction, s.error?.code])).toEqual([
      ['BEGIN', true, 0, undefined],
      ['CREATE UNIQUE INDEX u ON t (a)', true, 0, '23505'],
      ['COMMIT', true, 0, undefined],
    ]);
    expect(recording.transactions).toEqual([{ connection: 1, startMs: 1, endMs: 11, outcome: 'rollback' }]);
  });

  it('a statement still running when the connection closes is recorded as failed', () => {
    const { recording, feed, close } = session();
    feed('f', query('BEGIN; SELECT pg_sleep(10)'), 1);
    feed('b', complete('BEGIN'), 2);
    close(30);
    expect(recording.statements.map((s) => [s.sql, s.startMs, s.endMs, s.error?.message])).toEqual([
      ['BEGIN', 1, 2, undefined],
      ['SELECT pg_sleep(10)', 2, 30, 'the connection closed before the statement finished'],
    ]);
    expect(recording.transactions[0]).toMatchObject({ outcome: 'rollback', endMs: 30 });
    expect(recording.connections[0]!.endMs).toBe(30);
  });
});

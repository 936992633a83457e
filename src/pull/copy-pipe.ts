/**
 * Stream one table from a `COPY … TO STDOUT` session into a `COPY … FROM STDIN` session with as
 * little work in node as the protocol allows.
 *
 * The server sends a CopyData message ('d', a 4-byte length, the payload) per row; a client may
 * send COPY data in any framing (rows may span messages). pg-copy-streams slices every row out of the
 * socket's chunks, gathers the slices and concatenates them again: about a microsecond of node time
 * per row, a third of a core on a 9-million-row pull that is short of CPU. Here each chunk read from
 * the source socket is compacted in place (the payloads moved over the 5-byte headers with
 * `copyWithin`) and written to the target as one CopyData message, without allocating anything per
 * row. Forwarding the messages unchanged would cost node nothing, but the target server then pays
 * per message and loads measurably slower.
 *
 * These are pg "submittables", like pg-copy-streams': `client.query(copyOut(sql))`. While a copy
 * runs it reads the source socket itself; messages the server may interleave (notices, parameter
 * changes) are dropped, and the first other message (CopyDone, an error) hands the socket back to pg.
 *
 * A copy that fails midway may leave the target session inside a message, and the source session
 * inside its COPY: neither can take another query, so their sockets are closed (the servers roll
 * their transactions back). Callers load into a scratch database that is dropped on failure.
 */
import type { Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';

import type pg from 'pg';

const COPY_DATA = 0x64; // d
const COPY_DONE = 0x63; // c
const COPY_OUT_RESPONSE = 0x48; // H
const NOTICE = 0x4e; // N
const PARAMETER_STATUS = 0x53; // S
const NOTIFICATION = 0x41; // A

/** pg's Connection with its socket (a net.Socket, or a tls.TLSSocket, which is one). */
interface Connection {
  stream: Socket;
  query(text: string): void;
}

function asConnection(connection: pg.Connection): Connection {
  return connection as unknown as Connection;
}

function copyCount(msg: { text?: string } | undefined): number {
  const match = /COPY (\d+)/.exec(msg?.text ?? '');
  return match ? Number(match[1]) : 0;
}

/** A CopyData message header for `payloadBytes`. */
function copyDataHeader(payloadBytes: number): Buffer {
  const header = Buffer.allocUnsafe(5);
  header[0] = COPY_DATA;
  header.writeUInt32BE(payloadBytes + 4, 1);
  return header;
}

/**
 * `COPY … TO STDOUT` as a Readable of ready-framed CopyData messages for a `copyIn` of the same
 * format. `rowCount` is the server's count, set before the stream ends.
 */
export class CopyOut extends Readable implements pg.Submittable {
  rowCount = 0;
  /** Payload bytes read so far (progress: counted where the bytes are moved anyway, no extra pass). */
  bytesRead = 0;
  /**
   * CopyData messages read so far: the server sends one per row (binary COPY adds one for its
   * trailer), so this is the rows read, give or take one, while the copy runs.
   */
  messagesRead = 0;
  private connection: Connection | undefined;
  private pgDataHandler: ((chunk: Buffer) => void) | undefined;
  private wanted = false;
  private reading = false;
  private finished = false;
  // Where the parser is: at a message's type byte, inside its 4-byte length, or inside its body.
  private state: 'type' | 'length' | 'body' = 'type';
  private keep = false;
  private lengthBytes = 0;
  private length = 0;
  private remaining = 0;
  private readonly onReadable = () => this.forward();

  constructor(readonly text: string) {
    super({ highWaterMark: 1024 * 1024 });
  }

  /** pg: send the query, and read the connection's socket here until the data ends. */
  submit(pgConnection: pg.Connection): void {
    const connection = asConnection(pgConnection);
    this.connection = connection;
    const stream = connection.stream;
    const handlers = stream.listeners('data') as Array<(chunk: Buffer) => void>;
    if (handlers.length !== 1) throw new Error('copyOut: the connection has an unexpected reader');
    this.pgDataHandler = handlers[0];
    stream.removeListener('data', this.pgDataHandler!);
    stream.pause();
    stream.on('readable', this.onReadable);
    connection.query(this.text);
  }

  override _read(): void {
    this.wanted = true;
    this.forward();
  }

  private forward(): void {
    if (this.reading || !this.wanted || this.finished || !this.connection) return;
    this.reading = true;
    let chunk: Buffer | null;
    while (this.wanted && !this.finished && (chunk = this.connection.stream.read() as Buffer | null) !== null) this.parse(chunk);
    this.reading = false;
  }

  /**
   * Move the CopyData payload bytes of `chunk` to its start (the bytes are this stream's alone: it
   * is the socket's only reader) and push them as one message. Stop at the first message that ends
   * the copy.
   */
  private parse(chunk: Buffer): void {
    const n = chunk.length;
    let w = 0;
    let i = 0;
    let end = -1;
    while (i < n) {
      if (this.state === 'type') {
        const type = chunk[i]!;
        if (type === COPY_DATA) {
          this.keep = true;
          this.messagesRead += 1;
        } else if (type === COPY_OUT_RESPONSE || type === NOTICE || type === PARAMETER_STATUS || type === NOTIFICATION) this.keep = false;
        else {
          end = i; // CopyDone, an error, or anything else: the data is over.
          break;
        }
        if (i + 5 <= n) {
          // The usual case: the whole length is in this chunk.
          this.remaining = ((chunk[i + 1]! << 24) | (chunk[i + 2]! << 16) | (chunk[i + 3]! << 8) | chunk[i + 4]!) - 4;
          i += 5;
          this.state = 'body';
        } else {
          i += 1;
          this.state = 'length';
          this.lengthBytes = 0;
          this.length = 0;
          continue;
        }
      } else if (this.state === 'length') {
        this.length = this.length * 256 + chunk[i]!;
        i += 1;
        if (++this.lengthBytes < 4) continue;
        this.remaining = this.length - 4;
        this.state = 'body';
      }
      // state 'body'
      const take = this.remaining < n - i ? this.remaining : n - i;
      if (this.keep && take > 0) {
        if (w !== i) chunk.copyWithin(w, i, i + take);
        w += take;
      }
      i += take;
      this.remaining -= take;
      if (this.remaining === 0) this.state = 'type';
    }
    if (w > 0) {
      this.bytesRead += w;
      this.push(copyDataHeader(w));
      this.wanted = this.push(chunk.subarray(0, w));
    }
    if (end >= 0) this.detach(chunk.subarray(end));
  }

  /** Give the socket back to pg with the bytes after the data (CopyDone, CommandComplete, ReadyForQuery). */
  private detach(rest: Buffer): void {
    this.finished = true;
    const connection = this.connection!;
    connection.stream.removeListener('readable', this.onReadable);
    connection.stream.on('data', this.pgDataHandler!);
    if (rest.length) this.pgDataHandler!(rest);
    process.nextTick(() => connection.stream.resume());
  }

  /** Stopped before the data ended (the target failed): pg cannot use this session again, so close it. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.finished && this.connection) {
      this.connection.stream.removeListener('readable', this.onReadable);
      this.connection.stream.destroy();
    }
    this.finished = true;
    this.connection = undefined;
    callback(error);
  }

  /** pg: the server reported an error (before or during the copy), or the connection dropped. */
  handleError(error: Error): void {
    this.destroy(error);
  }

  handleCommandComplete(msg: { text?: string }): void {
    this.rowCount = copyCount(msg);
  }

  /** pg: the session is ready again. The stream ends only now, so the next query can follow at once. */
  handleReadyForQuery(): void {
    this.connection = undefined;
    if (!this.destroyed) this.push(null);
  }
}

/**
 * `COPY … FROM STDIN` as a Writable of framed CopyData messages (a `copyOut`'s output). It finishes
 * once the server has finished the COPY (ReadyForQuery); `rowCount` is then set.
 */
export class CopyIn extends Writable implements pg.Submittable {
  rowCount = 0;
  private connection: Connection | undefined;
  private ready = false;
  private pending: Array<() => void> = [];
  private onFinished: ((error?: Error | null) => void) | undefined;
  private failed: Error | undefined;
  private settled = false;

  constructor(readonly text: string) {
    super({ highWaterMark: 1024 * 1024 });
  }

  submit(pgConnection: pg.Connection): void {
    this.connection = asConnection(pgConnection);
    this.connection.query(this.text);
  }

  /** pg: the server takes data now. */
  handleCopyInResponse(): void {
    this.ready = true;
    for (const go of this.pending.splice(0)) go();
  }

  private whenReady(go: () => void): void {
    if (this.ready || this.failed) go();
    else this.pending.push(go);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.whenReady(() => {
      const stream = this.connection?.stream;
      if (this.failed || !stream) return callback(this.failed ?? new Error('copyIn: the connection is closed'));
      stream.cork();
      let ok = true;
      for (const { chunk } of chunks) ok = stream.write(chunk);
      stream.uncork();
      if (ok) callback();
      else stream.once('drain', () => callback());
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.onFinished = callback;
    this.whenReady(() => {
      if (this.failed) return this.settle(this.failed);
      this.connection?.stream.write(Buffer.from([COPY_DONE, 0, 0, 0, 4]));
    });
  }

  /** The source failed: the target may be inside a message, so its session is closed. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.connection && !this.settled) this.connection.stream.destroy();
    this.connection = undefined;
    callback(error);
  }

  private settle(error?: Error): void {
    if (this.settled) return;
    this.settled = true;
    const done = this.onFinished;
    this.onFinished = undefined;
    if (done) done(error ?? null);
    else if (error) this.destroy(error);
  }

  /** pg: the server rejected the COPY or its data. pg then forgets this query (no ReadyForQuery follows). */
  handleError(error: Error): void {
    this.failed = error;
    // Data may have been sent up to the middle of a message: the session cannot take another query.
    if (this.ready && this.connection) this.connection.stream.destroy();
    this.connection = undefined;
    for (const go of this.pending.splice(0)) go();
    this.settle(error);
  }

  handleCommandComplete(msg: { text?: string }): void {
    this.rowCount = copyCount(msg);
  }

  handleReadyForQuery(): void {
    this.connection = undefined;
    this.settle(this.failed);
  }
}

/** `COPY … TO STDOUT` for `client.query(…)`. */
export function copyOut(text: string): CopyOut {
  return new CopyOut(text);
}

/** `COPY … FROM STDIN` for `client.query(…)`. */
export function copyIn(text: string): CopyIn {
  return new CopyIn(text);
}

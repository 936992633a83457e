/**
 * PostgreSQL's wire protocol (version 3), as much as `drydock rehearse --command` needs to watch a
 * framework's session through its proxy (rehearse/proxy.ts): an incremental framer and decoders for
 * the messages that carry statements, their outcome and transaction status. Pure: no sockets.
 * https://www.postgresql.org/docs/current/protocol-message-formats.html
 *
 * After the start-up packet every message is a type byte, an Int32 length that counts itself but not
 * the type byte, and a body. TCP delivers them in arbitrary pieces: one chunk may end in the middle of
 * a length, and another may hold many messages. The framer copes with both and keeps only the bodies
 * it is asked for (CopyData and DataRow bodies, possibly huge, are skipped, not buffered).
 */

/** Special request codes of an untyped start-up packet (in place of the protocol version). */
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;

/** Bodies longer than this are cut (a statement's text beyond it is not needed to recognise it). */
export const DEFAULT_MAX_BODY = 4 * 1024 * 1024;

/** One complete typed message. */
export interface WireMessage {
  /** The type byte as a character: 'Q', 'P', 'B', 'E', 'S', 'C', 'Z' … */
  type: string;
  /** The body's length in bytes (the length field minus its own 4). */
  length: number;
  /** The body, when it was kept (see FramerOptions.keep); at most `maxBody` bytes. */
  body: Buffer | undefined;
  /** The body was longer than `maxBody` and was cut. */
  truncated: boolean;
  /** Offset, in the chunk just pushed, right after the message's last byte. */
  end: number;
}

export interface FramerOptions {
  /** Keep the body of messages of this type (default: every type). */
  keep?: ((type: string) => boolean) | undefined;
  /** Keep at most this many bytes of a body (default DEFAULT_MAX_BODY). */
  maxBody?: number | undefined;
}

/**
 * Splits a stream of typed messages into messages, whatever the chunking. `push` returns the messages
 * that end within the chunk, in order, each with the offset just past its last byte in that chunk.
 */
export class MessageFramer {
  private readonly keep: (type: string) => boolean;
  private readonly maxBody: number;
  /** Header bytes read so far (type + length: 5). */
  private readonly header = Buffer.alloc(5);
  private headerBytes = 0;
  /** Body bytes still to come for the current message. */
  private remaining = 0;
  private current: { type: string; length: number; parts: Buffer[] | undefined; kept: number; truncated: boolean } | undefined;

  constructor(options: FramerOptions = {}) {
    this.keep = options.keep ?? (() => true);
    this.maxBody = options.maxBody ?? DEFAULT_MAX_BODY;
  }

  /** True between messages (no partial message buffered). */
  get idle(): boolean {
    return this.headerBytes === 0 && this.current === undefined;
  }

  push(chunk: Buffer): WireMessage[] {
    const out: WireMessage[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (!this.current) {
        const take = Math.min(5 - this.headerBytes, chunk.length - at);
        chunk.copy(this.header, this.headerBytes, at, at + take);
        this.headerBytes += take;
        at += take;
        if (this.headerBytes < 5) break;
        this.headerBytes = 0;
        const type = String.fromCharCode(this.header[0]!);
        const declared = this.header.readInt32BE(1);
        if (declared < 4) throw new WireProtocolError(`a '${type}' message declares length ${declared}`);
        this.current = { type, length: declared - 4, parts: this.keep(type) ? [] : undefined, kept: 0, truncated: false };
        this.remaining = declared - 4;
      }
      const take = Math.min(this.remaining, chunk.length - at);
      const message = this.current;
      if (message.parts && take > 0) {
        const room = this.maxBody - message.kept;
        if (room > 0) {
          const piece = chunk.subarray(at, at + Math.min(take, room));
          // Copied: the caller may reuse or forward the chunk.
          message.parts.push(Buffer.from(piece));
          message.kept += piece.length;
        }
        if (take > room) message.truncated = true;
      }
      at += take;
      this.remaining -= take;
      if (this.remaining === 0) {
        out.push({ type: message.type, length: message.length, body: message.parts ? Buffer.concat(message.parts) : undefined, truncated: message.truncated, end: at });
        this.current = undefined;
      }
    }
    return out;
  }
}

/** The stream is not the PostgreSQL protocol (or drydock misread it): the proxy stops watching it. */
export class WireProtocolError extends Error {}

/** What an untyped start-up packet asks for. */
export type StartupKind = 'ssl' | 'gssenc' | 'cancel' | 'startup';

/** The length of the start-up packet at the head of `buffer`, once its length field has arrived. */
export function startupLength(buffer: Buffer): number | undefined {
  if (buffer.length < 4) return undefined;
  const length = buffer.readInt32BE(0);
  if (length < 8 || length > 10_000) throw new WireProtocolError(`a start-up packet declares length ${length}`);
  return length;
}

/** What a complete start-up packet is. */
export function startupKind(packet: Buffer): StartupKind {
  const code = packet.readInt32BE(4);
  if (code === SSL_REQUEST_CODE) return 'ssl';
  if (code === GSSENC_REQUEST_CODE) return 'gssenc';
  if (code === CANCEL_REQUEST_CODE) return 'cancel';
  return 'startup';
}

/** The parameters of a StartupMessage (user, database, options, application_name …). */
export function startupParameters(packet: Buffer): Record<string, string> {
  const reader = new BodyReader(packet.subarray(8));
  const params: Record<string, string> = {};
  while (reader.more()) {
    const name = reader.cstring();
    if (!name) break;
    params[name] = reader.cstring();
  }
  return params;
}

/** Reads a message body field by field. */
class BodyReader {
  private at = 0;
  constructor(private readonly body: Buffer) {}

  more(): boolean {
    return this.at < this.body.length;
  }

  cstring(): string {
    const end = this.body.indexOf(0, this.at);
    const stop = end === -1 ? this.body.length : end;
    const text = this.body.toString('utf8', this.at, stop);
    this.at = stop + 1;
    return text;
  }

  int16(): number {
    const value = this.body.readInt16BE(this.at);
    this.at += 2;
    return value;
  }

  int32(): number {
    const value = this.body.readInt32BE(this.at);
    this.at += 4;
    return value;
  }

  bytes(n: number): Buffer {
    const value = this.body.subarray(this.at, this.at + n);
    this.at += n;
    return value;
  }

  byte(): string {
    const value = String.fromCharCode(this.body[this.at]!);
    this.at += 1;
    return value;
  }
}

/** Query ('Q'): the SQL text (possibly several statements). */
export function decodeQuery(body: Buffer): string {
  return new BodyReader(body).cstring();
}

/** Parse ('P'): the prepared statement's name ('' for the unnamed one) and its SQL. */
export function decodeParse(body: Buffer): { name: string; sql: string } {
  const reader = new BodyReader(body);
  return { name: reader.cstring(), sql: reader.cstring() };
}

/**
 * Bind ('B'): portal, statement and the parameters sent as text (null for SQL NULL, undefined for a
 * binary one: not decoded). Ledger rows (a framework's migration name) arrive as bind parameters.
 */
export function decodeBind(body: Buffer): { portal: string; statement: string; params: Array<string | null | undefined> } {
  const reader = new BodyReader(body);
  const portal = reader.cstring();
  const statement = reader.cstring();
  const formats: number[] = [];
  for (let n = reader.int16(), i = 0; i < n; i++) formats.push(reader.int16());
  const params: Array<string | null | undefined> = [];
  for (let n = reader.int16(), i = 0; i < n; i++) {
    const length = reader.int32();
    // One format code applies to every parameter; none means text.
    const format = formats.length === 0 ? 0 : formats.length === 1 ? formats[0] : formats[i];
    if (length === -1) params.push(null);
    else {
      const value = reader.bytes(length);
      params.push(format === 0 ? value.toString('utf8') : undefined);
    }
  }
  return { portal, statement, params };
}

/** Execute ('E', frontend): the portal. */
export function decodeExecute(body: Buffer): { portal: string } {
  return { portal: new BodyReader(body).cstring() };
}

/** Close ('C', frontend): a prepared statement ('S') or a portal ('P'). */
export function decodeClose(body: Buffer): { kind: 'S' | 'P'; name: string } {
  const reader = new BodyReader(body);
  const kind = reader.byte() === 'S' ? 'S' : 'P';
  return { kind, name: reader.cstring() };
}

/** CommandComplete ('C', backend): the command tag, e.g. "INSERT 0 3", "CREATE INDEX". */
export function decodeCommandComplete(body: Buffer): string {
  return new BodyReader(body).cstring();
}

/** The row count a command tag reports (INSERT/UPDATE/DELETE/MERGE/COPY/SELECT/MOVE/FETCH), else null. */
export function rowCountOfTag(tag: string): number | null {
  const m = /^(?:INSERT \d+|UPDATE|DELETE|MERGE|COPY|SELECT|MOVE|FETCH) (\d+)$/.exec(tag);
  return m ? Number(m[1]) : null;
}

/** The fields of an ErrorResponse ('E', backend) that a report shows. */
export interface WireError {
  /** ERROR, FATAL or PANIC (the non-localised severity when the server sends it). */
  severity: string;
  /** SQLSTATE, e.g. 23505. */
  code: string;
  message: string;
  detail?: string | undefined;
  hint?: string | undefined;
  /** The objects and context the server names (schema, table, column, data type, constraint, where). */
  schema?: string | undefined;
  table?: string | undefined;
  column?: string | undefined;
  dataType?: string | undefined;
  constraint?: string | undefined;
  where?: string | undefined;
}

/** ErrorResponse ('E', backend). */
export function decodeError(body: Buffer): WireError {
  const reader = new BodyReader(body);
  const fields: Record<string, string> = {};
  while (reader.more()) {
    const code = reader.byte();
    if (code === '\0') break;
    fields[code] = reader.cstring();
  }
  const error: WireError = { severity: fields.V ?? fields.S ?? 'ERROR', code: fields.C ?? '', message: fields.M ?? '' };
  const optional: Array<[keyof WireError, string]> = [['detail', 'D'], ['hint', 'H'], ['schema', 's'], ['table', 't'], ['column', 'c'], ['dataType', 'd'], ['constraint', 'n'], ['where', 'W']];
  for (const [name, code] of optional) if (fields[code] !== undefined) error[name] = fields[code];
  return error;
}

/** Transaction status in ReadyForQuery: idle, in a transaction block, in a failed one. */
export type TransactionStatus = 'I' | 'T' | 'E';

/** ReadyForQuery ('Z', backend). */
export function decodeReadyForQuery(body: Buffer): TransactionStatus {
  const status = String.fromCharCode(body[0] ?? 73);
  return status === 'T' || status === 'E' ? status : 'I';
}

/** BackendKeyData ('K', backend): the backend's process id (the cancel key is not kept). */
export function decodeBackendKey(body: Buffer): number {
  return body.readInt32BE(0);
}

/** A typed message, encoded (tests, and the proxy's own replies). */
export function encodeMessage(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/**
 * A PostgreSQL protocol proxy on 127.0.0.1 for `drydock rehearse --command`: another framework's
 * migration command connects to it instead of the copy, and it forwards every byte both ways, unchanged
 * and in order, while reading the messages to record each statement (rehearse/wire-session.ts).
 *
 * - SSLRequest and GSSENCRequest are answered 'N' (plain connections: the copy is on this machine);
 *   the start-up packet and the authentication exchange pass through untouched, and are never logged.
 * - Before a statement reaches the server, `beforeStatements` may hold it back (its last byte) until
 *   the rehearsal's probes of the tables it names are connected, so waits are measured from its start.
 * - Backpressure: a side that cannot take more pauses the other.
 * - A stream drydock cannot read is still forwarded, only no longer watched (see `problems`).
 * https://www.postgresql.org/docs/current/protocol-flow.html
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';

import { MessageFramer, startupKind, startupLength, startupParameters, WireProtocolError, type WireMessage } from './pg-wire.js';
import { WireRecording, type ParsedSql, type SqlSplitter, type WireSession } from './wire-session.js';

/** Where the real server listens: TCP, or a Unix socket file. */
export type Upstream = { host: string; port: number } | { path: string };

export interface ProxyOptions {
  upstream: Upstream;
  /** The clock statements are timed with (ms). */
  now: () => number;
  /** drydock's SQL parser (splits a Query into statements). */
  split: SqlSplitter;
  /**
   * Called with the statements of a Query or Parse before it is forwarded; the proxy holds the
   * message until the returned promise settles (a rejection is ignored).
   */
  beforeStatements?: ((statements: ParsedSql[], connection: number) => Promise<void> | undefined) | undefined;
  /** A session's backend process id became known (BackendKeyData). */
  onBackend?: ((pid: number, connection: number) => void) | undefined;
}

/** Message types whose bodies the recording reads; the others (CopyData, DataRow …) are skipped. */
const FRONTEND_BODIES = new Set(['Q', 'P', 'B', 'E', 'C']);
const BACKEND_BODIES = new Set(['C', 'E', 'Z', 'K']);

/** Settles when the socket can take more, or is gone. */
function drained(socket: Socket): Promise<void> {
  if (socket.destroyed || !socket.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** One client connection and its connection to the server. */
class ProxiedConnection {
  private state: 'startup' | 'typed' | 'passthrough' = 'startup';
  private startupBuffer = Buffer.alloc(0);
  private readonly clientFramer = new MessageFramer({ keep: (t) => FRONTEND_BODIES.has(t) });
  private readonly serverFramer = new MessageFramer({ keep: (t) => BACKEND_BODIES.has(t) });
  private readonly fromClient: Buffer[] = [];
  private readonly fromServer: Buffer[] = [];
  private clientBusy = false;
  private serverBusy = false;
  private watching = true;
  private readonly closedBoth: Promise<void>;
  private readonly server: Socket;

  constructor(
    private readonly client: Socket,
    upstream: Upstream,
    private readonly session: WireSession,
    private readonly options: ProxyOptions,
    private readonly problem: (message: string) => void,
  ) {
    client.setNoDelay(true);
    this.server = 'path' in upstream ? netConnect({ path: upstream.path }) : netConnect({ host: upstream.host, port: upstream.port });
    this.server.setNoDelay(true);
    const closed = (socket: Socket): Promise<void> => new Promise((resolve) => (socket.destroyed && socket.closed ? resolve() : socket.once('close', () => resolve())));
    this.closedBoth = Promise.all([closed(client), closed(this.server)]).then(() => this.session.closed());
    client.on('data', (chunk: Buffer) => {
      this.fromClient.push(chunk);
      if (!this.clientBusy) void this.pumpClient();
    });
    this.server.on('data', (chunk: Buffer) => {
      this.fromServer.push(chunk);
      if (!this.serverBusy) void this.pumpServer();
    });
    // An end passes through once what came before it is forwarded; an error closes both sides.
    client.on('end', () => this.ended('client'));
    this.server.on('end', () => this.ended('server'));
    client.on('close', () => this.ended('client'));
    this.server.on('close', () => this.ended('server'));
    client.on('error', () => this.destroy());
    this.server.on('error', (error) => {
      // The client sees the server go away as a closed connection, as it would without the proxy.
      if (!this.session.connection.backendPid) this.problem(`could not reach the database server: ${error.message}`);
      this.destroy();
    });
  }

  /** Settles when both sockets are closed. */
  closed(): Promise<void> {
    return this.closedBoth;
  }

  destroy(): void {
    this.client.destroy();
    this.server.destroy();
  }

  private clientEnded = false;
  private serverEnded = false;

  /** One side ended: end the other once that side's data is forwarded. */
  private ended(side: 'client' | 'server'): void {
    if (side === 'client') this.clientEnded = true;
    else this.serverEnded = true;
    this.passEnds();
  }

  private passEnds(): void {
    if (this.clientEnded && !this.clientBusy && !this.fromClient.length && !this.server.writableEnded) this.server.end();
    if (this.serverEnded && !this.serverBusy && !this.fromServer.length && !this.client.writableEnded) this.client.end();
  }

  private async pumpClient(): Promise<void> {
    this.clientBusy = true;
    try {
      while (this.fromClient.length && !this.server.destroyed) await this.clientChunk(this.fromClient.shift()!);
    } catch (error) {
      this.problem(`the proxy failed on a client stream: ${(error as Error).message}`);
      this.destroy();
    } finally {
      this.clientBusy = false;
      if (this.client.isPaused() && !this.client.destroyed) this.client.resume();
      this.passEnds();
    }
  }

  private async pumpServer(): Promise<void> {
    this.serverBusy = true;
    try {
      while (this.fromServer.length && !this.client.destroyed) await this.serverChunk(this.fromServer.shift()!);
    } catch (error) {
      this.problem(`the proxy failed on a server stream: ${(error as Error).message}`);
      this.destroy();
    } finally {
      this.serverBusy = false;
      if (this.server.isPaused() && !this.server.destroyed) this.server.resume();
      this.passEnds();
    }
  }

  /** Write to `to`; when it is full, pause `from` until it drains. */
  private async forward(to: Socket, from: Socket, bytes: Buffer): Promise<void> {
    if (!bytes.length || to.destroyed) return;
    if (!to.write(bytes)) {
      from.pause();
      await drained(to);
    }
  }

  private async clientChunk(chunk: Buffer): Promise<void> {
    if (this.state === 'passthrough') return this.forward(this.server, this.client, chunk);
    if (this.state === 'startup') return this.startupChunk(chunk);
    let messages: WireMessage[];
    try {
      messages = this.watching ? this.clientFramer.push(chunk) : [];
    } catch (error) {
      this.stopWatching(error);
      messages = [];
    }
    let from = 0;
    for (const message of messages) {
      if (!this.watching) break;
      let gate: Promise<void> | undefined;
      try {
        const statements = this.session.statementsOf(message);
        gate = statements && this.options.beforeStatements?.(statements, this.session.connection.id);
      } catch (error) {
        this.stopWatching(error);
        break;
      }
      if (gate) {
        // Everything but the message's last byte may go ahead: the server cannot run it before it has it all.
        const cut = message.end - 1;
        await this.forward(this.server, this.client, chunk.subarray(from, cut));
        from = Math.max(from, cut);
        this.client.pause();
        await gate.catch(() => undefined);
      }
      try {
        this.session.frontend(message);
      } catch (error) {
        this.stopWatching(error);
      }
    }
    await this.forward(this.server, this.client, chunk.subarray(from));
  }

  /** Before the start-up packet: answer SSL and GSS encryption requests 'N'; forward the packet. */
  private async startupChunk(chunk: Buffer): Promise<void> {
    this.startupBuffer = Buffer.concat([this.startupBuffer, chunk]);
    for (;;) {
      let length: number | undefined;
      try {
        length = startupLength(this.startupBuffer);
      } catch (error) {
        this.stopWatching(error);
        this.state = 'passthrough';
        const rest = this.startupBuffer;
        this.startupBuffer = Buffer.alloc(0);
        return this.forward(this.server, this.client, rest);
      }
      if (length === undefined || this.startupBuffer.length < length) return;
      const packet = this.startupBuffer.subarray(0, length);
      const rest = this.startupBuffer.subarray(length);
      this.startupBuffer = Buffer.alloc(0);
      const kind = startupKind(packet);
      if (kind === 'ssl' || kind === 'gssenc') {
        this.client.write('N');
        this.startupBuffer = Buffer.from(rest);
        continue;
      }
      if (kind === 'cancel') {
        // A cancel request for another session: the server acts on it and closes.
        this.state = 'passthrough';
        return this.forward(this.server, this.client, Buffer.concat([packet, rest]));
      }
      this.session.startup(startupParameters(packet));
      this.state = 'typed';
      await this.forward(this.server, this.client, Buffer.from(packet));
      if (rest.length) await this.clientChunk(Buffer.from(rest));
      return;
    }
  }

  private async serverChunk(chunk: Buffer): Promise<void> {
    if (this.watching) {
      try {
        // A recording that fails (drydock's bug or a stream it misreads) stops watching; the bytes still flow.
        for (const message of this.serverFramer.push(chunk)) {
          this.session.backend(message);
          if (message.type === 'K' && this.session.connection.backendPid !== undefined) this.options.onBackend?.(this.session.connection.backendPid, this.session.connection.id);
        }
      } catch (error) {
        this.stopWatching(error);
      }
    }
    await this.forward(this.client, this.server, chunk);
  }

  private stopWatching(error: unknown): void {
    if (!this.watching) return;
    this.watching = false;
    this.problem(`connection ${this.session.connection.id}: ${error instanceof WireProtocolError ? `not the PostgreSQL protocol as drydock reads it (${error.message})` : String((error as Error).message ?? error)}; its statements after this point were forwarded but not recorded`);
  }
}

/** The proxy: listen on 127.0.0.1 (a free port), record every session's statements, close cleanly. */
export class WireProxy {
  readonly recording: WireRecording;
  /** Streams the proxy forwarded without recording, or servers it could not reach. */
  readonly problems: string[] = [];
  private readonly connections = new Set<ProxiedConnection>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    options: ProxyOptions,
  ) {
    this.recording = new WireRecording(options.now, options.split);
    server.on('connection', (socket: Socket) => {
      const connection = new ProxiedConnection(socket, options.upstream, this.recording.session(), options, (m) => this.problems.push(m));
      this.connections.add(connection);
      void connection.closed().then(() => this.connections.delete(connection));
    });
  }

  /** The host the proxy listens on. */
  readonly host = '127.0.0.1';

  static async start(options: ProxyOptions): Promise<WireProxy> {
    const server = createServer({ pauseOnConnect: false, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('the proxy has no TCP port');
    return new WireProxy(server, address.port, options);
  }

  /** Sessions still open. */
  get openConnections(): number {
    return this.connections.size;
  }

  /** Stop listening and close every session (both sides); settles when all are closed. */
  async close(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const open = [...this.connections];
    for (const c of open) c.destroy();
    await Promise.all([stopped, ...open.map((c) => c.closed())]);
  }
}

/**
 * Emulated production over TLS: a PostgreSQL front end that speaks the wire protocol's SSL handshake
 * and forwards the decrypted session to the real (plain) backing server, the way Heroku's databases
 * are reached over the internet: a remote host name, SSL required, a certificate no CA vouches for.
 *
 * Per connection (https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-SSL):
 * - SSLRequest → 'S', then a TLS handshake with this proxy's certificate; the StartupMessage that
 *   follows inside TLS names the database, which picks the backend (`route`); every byte after that
 *   is piped both ways unchanged.
 * - GSSENCRequest → 'N' (no GSSAPI here), and the client goes on with SSLRequest or a plain startup.
 * - A TLS ClientHello straight away (PostgreSQL 17's sslnegotiation=direct) → TLS at once.
 * - A plain StartupMessage → refused with Heroku's FATAL (no pg_hba.conf entry … no encryption), as a
 *   server that requires SSL answers: a client that forgot SSL fails here exactly as on Heroku.
 * - CancelRequest (plain, as libpq up to 16 sends it) → forwarded to the default backend.
 *
 * Listens on a loopback address only: the backing server trusts every local connection.
 */
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
/** The first byte of a TLS record carrying a handshake (a ClientHello). */
const TLS_HANDSHAKE = 0x16;
/** No startup packet is this large (PostgreSQL's own limit is 10000 bytes). */
const MAX_STARTUP = 10_000;

/** Where a session for one database goes. */
export interface Backend {
  host: string;
  port: number;
}

/** What the proxy has seen, for assertions. */
export interface TlsProxyStats {
  /** Sessions that completed the TLS handshake and a startup. */
  tlsSessions: number;
  /** Plain (non-SSL) startups refused. */
  plainRefused: number;
  /** Open TLS sessions per database. */
  open: Record<string, number>;
  /** The most TLS sessions open at once per database since start (or `resetPeaks`). */
  peak: Record<string, number>;
}

/** A running proxy. */
export interface PgTlsProxy {
  /** The address it listens on. */
  host: string;
  port: number;
  stats(): TlsProxyStats;
  /** Start counting peaks afresh (from the sessions open now). */
  resetPeaks(): void;
  close(): Promise<void>;
}

/** Options of `startPgTlsProxy`. */
export interface PgTlsProxyOptions {
  /** A loopback address to listen on (127.0.0.2, say). */
  listenHost: string;
  port?: number;
  cert: Buffer;
  key: Buffer;
  /** The backend for a database (undefined: the session is refused with "database does not exist"). */
  route(database: string): Backend | undefined;
  /** Where plain CancelRequests go (they carry no database name). */
  cancelBackend(): Backend | undefined;
}

/** A PostgreSQL ErrorResponse (FATAL) packet. */
export function fatalPacket(code: string, message: string): Buffer {
  const fields = Buffer.concat([
    ...[
      ['S', 'FATAL'],
      ['V', 'FATAL'],
      ['C', code],
      ['M', message],
    ].map(([k, v]) => Buffer.concat([Buffer.from(k ?? '', 'ascii'), Buffer.from(`${v ?? ''}\0`, 'utf8')])),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(5);
  head.write('E', 0, 'ascii');
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

/** The key/value pairs of a StartupMessage body (after length and protocol). */
export function startupParams(packet: Buffer): Record<string, string> {
  const params: Record<string, string> = {};
  const parts = packet.subarray(8).toString('utf8').split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const key = parts[i];
    if (!key) break;
    params[key] = parts[i + 1] ?? '';
  }
  return params;
}

/**
 * Read one length-prefixed packet (the startup phase has no type byte). Resolves with the packet and
 * whatever arrived after it, or undefined when the peer closed or sent something that is no packet.
 */
function readPacket(socket: Socket | TLSSocket, pending: Buffer, peekTls = false): Promise<{ packet: Buffer; rest: Buffer; tls?: boolean } | undefined> {
  return new Promise((resolve) => {
    let buffered = pending;
    const done = (value: { packet: Buffer; rest: Buffer; tls?: boolean } | undefined): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      socket.off('close', onEnd);
      resolve(value);
    };
    const check = (): boolean => {
      if (peekTls && buffered.length >= 1 && buffered[0] === TLS_HANDSHAKE) {
        done({ packet: Buffer.alloc(0), rest: buffered, tls: true });
        return true;
      }
      if (buffered.length < 4) return false;
      const length = buffered.readInt32BE(0);
      if (length < 8 || length > MAX_STARTUP) {
        done(undefined);
        return true;
      }
      if (buffered.length < length) return false;
      done({ packet: buffered.subarray(0, length), rest: buffered.subarray(length) });
      return true;
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      check();
    };
    const onEnd = (): void => done(undefined);
    if (check()) return;
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
    socket.once('close', onEnd);
  });
}

/** Start the proxy. */
export async function startPgTlsProxy(options: PgTlsProxyOptions): Promise<PgTlsProxy> {
  const context = createSecureContext({ cert: options.cert, key: options.key });
  const sockets = new Set<Socket>();
  const stats: TlsProxyStats = { tlsSessions: 0, plainRefused: 0, open: {}, peak: {} };

  const opened = (database: string): (() => void) => {
    stats.tlsSessions += 1;
    stats.open[database] = (stats.open[database] ?? 0) + 1;
    stats.peak[database] = Math.max(stats.peak[database] ?? 0, stats.open[database] ?? 0);
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      stats.open[database] = Math.max(0, (stats.open[database] ?? 1) - 1);
    };
  };

  /** Pipe an established client stream to a backend, sending `first` (the startup packet) ahead. */
  const forward = (client: Socket | TLSSocket, backend: Backend, first: Buffer, rest: Buffer, onClose: () => void): void => {
    // Nothing may be read (and lost) before the pipe is in place: the client waits for the backend anyway.
    client.pause();
    const upstream = netConnect(backend.port, backend.host);
    sockets.add(upstream);
    const end = (): void => {
      onClose();
      client.destroy();
      upstream.destroy();
      sockets.delete(upstream);
    };
    upstream.once('connect', () => {
      upstream.write(first);
      if (rest.length) upstream.write(rest);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', end);
    upstream.on('close', end);
    client.on('error', end);
    client.on('close', end);
  };

  /** The session after TLS: its StartupMessage picks the backend. */
  const afterTls = async (tls: TLSSocket): Promise<void> => {
    const startup = await readPacket(tls, Buffer.alloc(0));
    if (!startup) return void tls.destroy();
    const protocol = startup.packet.readInt32BE(4);
    if (protocol === CANCEL_REQUEST) {
      const backend = options.cancelBackend();
      if (backend) forward(tls, backend, startup.packet, startup.rest, () => undefined);
      else tls.destroy();
      return;
    }
    const params = startupParams(startup.packet);
    const database = params.database ?? params.user ?? '';
    const backend = options.route(database);
    if (!backend) {
      tls.end(fatalPacket('3D000', `database "${database}" does not exist`));
      return;
    }
    forward(tls, backend, startup.packet, startup.rest, opened(database));
  };

  const startTls = (socket: Socket, rest: Buffer): void => {
    if (rest.length) socket.unshift(rest);
    const tls = new TLSSocket(socket, { isServer: true, secureContext: context, ALPNProtocols: ['postgresql'] });
    tls.on('error', () => socket.destroy());
    tls.once('secure', () => void afterTls(tls));
  };

  const handle = async (socket: Socket): Promise<void> => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending: Buffer = Buffer.alloc(0);
    // At most an SSLRequest after a refused GSSENCRequest.
    for (let round = 0; round < 3; round += 1) {
      const read = await readPacket(socket, pending, true);
      if (!read) return void socket.destroy();
      if (read.tls) return startTls(socket, read.rest);
      const code = read.packet.readInt32BE(4);
      pending = read.rest;
      if (code === SSL_REQUEST) {
        socket.write('S');
        // Nothing may follow an SSLRequest before the answer; anything that did is the ClientHello.
        return startTls(socket, pending);
      }
      if (code === GSSENC_REQUEST) {
        socket.write('N');
        continue;
      }
      if (code === CANCEL_REQUEST) {
        const backend = options.cancelBackend();
        if (!backend) return void socket.destroy();
        return forward(socket, backend, read.packet, pending, () => undefined);
      }
      if (code === PROTOCOL_3) {
        stats.plainRefused += 1;
        const params = startupParams(read.packet);
        const user = params.user ?? '';
        const database = params.database ?? user;
        // What Heroku (PostgreSQL 16+) answers a connection without SSL.
        socket.end(fatalPacket('28000', `no pg_hba.conf entry for host "${socket.remoteAddress ?? ''}", user "${user}", database "${database}", no encryption`));
        return;
      }
      return void socket.end(fatalPacket('08P01', 'unsupported frontend protocol'));
    }
    socket.destroy();
  };

  const server: Server = createServer((socket) => void handle(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host: options.listenHost,
    port,
    stats: () => ({ ...stats, open: { ...stats.open }, peak: { ...stats.peak } }),
    resetPeaks: () => {
      stats.peak = { ...stats.open };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

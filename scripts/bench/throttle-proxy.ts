/**
 * A bandwidth-limited TCP proxy on the loopback interface, standing in for the network between a
 * developer's machine and Heroku: `npm run bench:pull` puts one in front of the production Postgres
 * (an emulated app's DATABASE_URL points at it) and one in front of the emulator's HTTPS backup
 * server (TLS passes through untouched: it is raw TCP here).
 *
 * Several proxies can share one Link: a link has one token bucket per direction (up: client →
 * server, down: server → client) shared by every connection of every proxy on it, so parallel
 * streams split the bandwidth as they would on one real link instead of multiplying it.
 *
 * The bucket works in virtual time: each piece (≤ 16 KB) reserves its transmission time on the link
 * (after the link is free, with up to `burstMs` of idle credit), and is written when that time plus
 * the one-way latency has come. Each connection direction buffers at most 256 KB plus the
 * bandwidth-delay product before it stops reading (TCP back-pressure does the rest), so memory is
 * bounded and one stream cannot book the link far ahead of the others.
 *
 * Standalone: `tsx scripts/bench/throttle-proxy.ts --target 127.0.0.1:5432 [--port 0] [--mbit 100] [--latency-ms 0]`
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

import { isEntryPoint, parseFlags, runMain } from './lib.js';

const PIECE = 16 * 1024;
const BASE_HIGH_WATER = 256 * 1024;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** Megabit/s (10^6 bit/s) → bytes per millisecond. */
function bytesPerMs(mbit: number): number {
  return (mbit * 1e6) / 8 / 1000;
}

/** One direction of a link: a token bucket in virtual time. */
export class TokenBucket {
  private freeAt = 0;

  constructor(
    private rate: number,
    private readonly burstMs = 5,
  ) {}

  /** Set the rate (bytes/ms; Infinity: unlimited). */
  setRate(rate: number): void {
    this.rate = rate;
  }

  /** Reserve `bytes` now; returns the ms until they have gone through (≤ 0: at once). */
  reserve(bytes: number, now = performance.now()): number {
    if (!Number.isFinite(this.rate)) return 0;
    const start = Math.max(this.freeAt, now - this.burstMs);
    this.freeAt = start + bytes / this.rate;
    return this.freeAt - now;
  }
}

/** Options of a link. */
export interface LinkOptions {
  /** Bandwidth per direction in Mbit/s (Infinity: unlimited). */
  mbit: number;
  /** One-way latency added to every byte, in ms (default 0). */
  latencyMs?: number;
}

/** A simulated network link: a bucket per direction and a latency, shared by proxies. */
export class Link {
  readonly up: TokenBucket;
  readonly down: TokenBucket;
  mbit: number;
  latencyMs: number;
  bytesUp = 0;
  bytesDown = 0;

  constructor(options: LinkOptions) {
    this.mbit = options.mbit;
    this.latencyMs = options.latencyMs ?? 0;
    if (!(this.mbit > 0)) throw new Error(`the link needs a positive bandwidth, not ${this.mbit} Mbit/s`);
    if (!(this.latencyMs >= 0)) throw new Error(`the latency must be ≥ 0 ms, not ${this.latencyMs}`);
    this.up = new TokenBucket(bytesPerMs(this.mbit));
    this.down = new TokenBucket(bytesPerMs(this.mbit));
  }

  /** Change the bandwidth of both directions. */
  setMbit(mbit: number): void {
    this.mbit = mbit;
    this.up.setRate(bytesPerMs(mbit));
    this.down.setRate(bytesPerMs(mbit));
  }

  describe(): string {
    return `${Number.isFinite(this.mbit) ? `${this.mbit} Mbit/s` : 'unlimited'} per direction${this.latencyMs ? `, +${this.latencyMs} ms one way` : ''}`;
  }
}

/** One direction of one proxied connection. */
class Lane {
  private readonly queue: Array<{ due: number; buf: Buffer }> = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private waitingDrain = false;
  private ended = false;
  private readonly highWater: number;

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly bucket: TokenBucket,
    private readonly link: Link,
    private readonly count: (bytes: number) => void,
  ) {
    this.highWater = BASE_HIGH_WATER + Math.ceil(bytesPerMs(Number.isFinite(link.mbit) ? link.mbit : 0) * link.latencyMs);
    src.on('data', (chunk: Buffer) => this.onData(chunk));
    src.on('end', () => {
      this.ended = true;
      this.flush();
    });
    dst.on('drain', () => {
      this.waitingDrain = false;
      this.flush();
    });
  }

  private onData(chunk: Buffer): void {
    const now = performance.now();
    for (let at = 0; at < chunk.length; at += PIECE) {
      const buf = chunk.subarray(at, Math.min(chunk.length, at + PIECE));
      const wait = this.bucket.reserve(buf.length, now);
      this.queue.push({ due: now + Math.max(0, wait) + this.link.latencyMs, buf });
      this.queued += buf.length;
    }
    if (this.queued > this.highWater) this.src.pause();
    this.flush();
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.dst.destroyed) return;
    const now = performance.now();
    while (!this.waitingDrain && this.queue.length && this.queue[0]!.due <= now + 0.5) {
      const { buf } = this.queue.shift()!;
      this.queued -= buf.length;
      this.count(buf.length);
      if (!this.dst.write(buf)) this.waitingDrain = true;
    }
    if (this.queued <= this.highWater / 2 && this.src.isPaused() && !this.src.destroyed) this.src.resume();
    if (this.waitingDrain) return;
    if (this.queue.length) {
      this.timer = setTimeout(() => this.flush(), Math.max(1, this.queue[0]!.due - now));
    } else if (this.ended && !this.dst.writableEnded) {
      this.dst.end();
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

/** Options of one proxy. */
export interface ThrottleProxyOptions {
  /** Where connections go: a loopback host and port. */
  target: { host: string; port: number };
  link: Link;
  /** Port on 127.0.0.1 (default 0: a free one). */
  port?: number;
  /** Concurrent connections at most (default 64). */
  maxConnections?: number;
}

/** A running proxy. */
export interface ThrottleProxy {
  /** The port it listens on (127.0.0.1). */
  port: number;
  target: { host: string; port: number };
  link: Link;
  /** Connections accepted so far, and the most at one time. */
  stats(): { connections: number; maxConcurrent: number; bytesUp: number; bytesDown: number };
  /** Stop listening and cut every connection. */
  close(): Promise<void>;
}

/** Start a proxy on 127.0.0.1 in front of `target`, limited by `link`. */
export async function startThrottleProxy(options: ThrottleProxyOptions): Promise<ThrottleProxy> {
  const { target, link } = options;
  if (!LOOPBACK.has(target.host)) throw new Error(`the throttle proxy only forwards to loopback, not ${target.host}`);
  const sockets = new Set<Socket>();
  const lanes = new Set<Lane>();
  let connections = 0;
  let maxConcurrent = 0;
  let bytesUp = 0;
  let bytesDown = 0;

  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    connections++;
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    sockets.add(client);
    sockets.add(upstream);
    maxConcurrent = Math.max(maxConcurrent, sockets.size / 2);
    const connectTimer = setTimeout(() => upstream.destroy(new Error('connect timeout')), 10_000);
    upstream.once('connect', () => clearTimeout(connectTimer));
    const upLane = new Lane(client, upstream, link.up, link, (n) => {
      bytesUp += n;
      link.bytesUp += n;
    });
    const downLane = new Lane(upstream, client, link.down, link, (n) => {
      bytesDown += n;
      link.bytesDown += n;
    });
    lanes.add(upLane);
    lanes.add(downLane);
    const teardown = (): void => {
      clearTimeout(connectTimer);
      upLane.stop();
      downLane.stop();
      lanes.delete(upLane);
      lanes.delete(downLane);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
    // A socket closes only when both of its directions are done. The lane toward the other socket
    // still delivers what it holds and then ends it; a peer that does not close within 5 s is cut.
    let grace: NodeJS.Timeout | undefined;
    const onClose = (socket: Socket) => (): void => {
      sockets.delete(socket);
      if (client.destroyed && upstream.destroyed) {
        if (grace) clearTimeout(grace);
        teardown();
      } else {
        grace ??= setTimeout(teardown, 5_000).unref();
      }
    };
    client.on('close', onClose(client));
    upstream.on('close', onClose(upstream));
  });
  server.maxConnections = options.maxConnections ?? 64;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let closing: Promise<void> | undefined;
  return {
    port,
    target,
    link,
    stats: () => ({ connections, maxConcurrent, bytesUp, bytesDown }),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const lane of lanes) lane.stop();
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

async function main(): Promise<void> {
  const usage = 'usage: tsx scripts/bench/throttle-proxy.ts --target HOST:PORT [--port 0] [--mbit 100] [--latency-ms 0]';
  const values = parseFlags(usage, {
    target: { type: 'string' },
    port: { type: 'string', default: '0' },
    mbit: { type: 'string', default: '100' },
    'latency-ms': { type: 'string', default: '0' },
  });
  const m = /^(.+):(\d+)$/.exec(values.target ?? '');
  if (!m) throw new Error(usage);
  const link = new Link({ mbit: Number(values.mbit), latencyMs: Number(values['latency-ms']) });
  const proxy = await startThrottleProxy({ target: { host: m[1]!, port: Number(m[2]) }, link, port: Number(values.port) });
  process.stdout.write(`127.0.0.1:${proxy.port} → ${m[1]}:${m[2]} (${link.describe()}); Ctrl-C stops\n`);
  const stop = (): void => {
    const s = proxy.stats();
    process.stdout.write(`\n${s.connections} connection(s), ${(s.bytesUp / 1e6).toFixed(1)} MB up, ${(s.bytesDown / 1e6).toFixed(1)} MB down\n`);
    void proxy.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (isEntryPoint(import.meta.url)) runMain('throttle-proxy', main);

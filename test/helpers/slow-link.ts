/**
 * A slow network link to a PostgreSQL server, for tests that need a copy to take a while: a TCP proxy
 * on 127.0.0.1 that forwards everything, the server's answers at most `bytesPerSecond`.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface SlowLink {
  /** The proxy's port: use it in place of the server's. */
  port: number;
  /** `url` with its host and port replaced by the proxy's. */
  through(url: string): string;
  close(): Promise<void>;
}

/** Start a proxy to `target` (host:port of a URL) whose server-to-client direction runs at `bytesPerSecond`. */
export async function startSlowLink(target: string, bytesPerSecond: number): Promise<SlowLink> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port || 5432), hostname === 'localhost' ? '127.0.0.1' : hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    // Server → client: each chunk takes its time on the link (no credit for idle time) before the next is read.
    let freeAt = Date.now();
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      freeAt = Math.max(freeAt, Date.now()) + (chunk.length / bytesPerSecond) * 1000;
      const aheadMs = freeAt - Date.now();
      if (aheadMs > 5) {
        upstream.pause();
        setTimeout(() => upstream.resume(), aheadMs);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const proxyPort = typeof address === 'object' && address ? address.port : 0;
  return {
    port: proxyPort,
    through(url: string): string {
      const u = new URL(url);
      u.port = String(proxyPort);
      return u.toString();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The emulator's `tls` option: every app database is published under a host name that is not
 * localhost, behind a TLS front end (pg-tls-proxy.ts) that refuses connections without SSL, as Heroku
 * publishes its databases. Config vars hold the public URL; the emulator's own work (pg:info facts,
 * the transfers' pg_dump and pg_restore, Heroku's workers) reaches the backing database directly
 * through `backingUrl`, the way Heroku's own machinery does not go through the internet either.
 */
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { isIP } from 'node:net';

import { startPgTlsProxy, type Backend, type PgTlsProxy, type TlsProxyStats } from './pg-tls-proxy.js';
import { createHostCert } from './tls.js';

/** Public URL → backing URL, for every emulator in this process (public URLs carry a unique port). */
const BACKING = new Map<string, string>();

/** The URL the emulator itself uses for a database URL (the backing one for a published database). */
export function backingUrl(url: string): string {
  return BACKING.get(url) ?? url;
}

/** What tests and `main.ts` see of the TLS front end. */
export interface EmulatedTls {
  /** The host name in published URLs. */
  host: string;
  /** The loopback address it resolves to, where the front end listens. */
  address: string;
  port: number;
  /** The front end's self-signed certificate (for sslmode=verify-full&sslrootcert=…). */
  certPath: string;
  stats(): TlsProxyStats;
  resetPeaks(): void;
  /** The public URL of another database (a whole local server, say: any database of its backend answers). */
  publish(url: string): string;
}

/** A database host that is not on this machine as drydock (and libpq's habits) see it. */
function isLoopbackAddress(address: string): boolean {
  return /^127\./.test(address) || address === '::1';
}

/**
 * The host to publish under: `wanted` when given (a name or address resolving to loopback), else this
 * machine's host name when it resolves to a loopback address (Debian: 127.0.1.1), else 127.0.0.2
 * (Linux routes all of 127/8 to loopback; macOS needs `sudo ifconfig lo0 alias 127.0.0.2 up`).
 */
export async function chooseTlsHost(wanted: string | undefined): Promise<{ host: string; address: string }> {
  const resolve = async (host: string): Promise<string | undefined> =>
    isIP(host) ? host : (await lookup(host, { family: 4 }).catch(() => undefined))?.address;
  if (wanted) {
    const address = await resolve(wanted);
    if (!address || !isLoopbackAddress(address)) {
      throw new Error(`the TLS host "${wanted}" must resolve to a loopback address (127.x.x.x): the emulated databases trust every local connection`);
    }
    return { host: wanted, address };
  }
  const own = hostname();
  const address = own && own !== 'localhost' ? await resolve(own) : undefined;
  if (address && isLoopbackAddress(address)) return { host: own, address };
  return { host: '127.0.0.2', address: '127.0.0.2' };
}

/** The published databases of one emulator. */
export class TlsDatabases {
  private readonly published = new Set<string>();

  private constructor(
    private readonly proxy: PgTlsProxy,
    readonly info: EmulatedTls,
    /** Database name → backing server, read by the proxy for each session. */
    private readonly routes: Map<string, Backend>,
  ) {}

  /** Start the front end under `host` (see chooseTlsHost), with a fresh certificate in `dir`. */
  static async start(dir: string, wanted?: string): Promise<TlsDatabases> {
    const { host, address } = await chooseTlsHost(wanted);
    const cert = await createHostCert(dir, host);
    const routes = new Map<string, Backend>();
    let proxy: PgTlsProxy;
    try {
      proxy = await startPgTlsProxy({
        listenHost: address,
        cert: cert.cert,
        key: cert.key,
        // A database no app names goes to the first backend (which answers "does not exist" itself).
        route: (database) => routes.get(database) ?? routes.values().next().value,
        cancelBackend: () => routes.values().next().value,
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRNOTAVAIL') {
        throw new Error(`cannot listen on ${address} for the TLS databases: add that loopback address (macOS: sudo ifconfig lo0 alias ${address} up) or choose a host name that resolves to 127.0.0.1`);
      }
      throw error;
    }
    const info: EmulatedTls = {
      host,
      address,
      port: proxy.port,
      certPath: cert.certPath,
      stats: () => proxy.stats(),
      resetPeaks: () => proxy.resetPeaks(),
      publish: (url) => dbs.publish(url),
    };
    const dbs = new TlsDatabases(proxy, info, routes);
    return dbs;
  }

  /**
   * The public URL of a local database URL: same user, password, database and parameters, this front
   * end's host and port. Other URLs (already published, or not postgres://) come back unchanged.
   */
  publish(url: string): string {
    if (this.published.has(url)) return url;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return url;
    }
    if (!/^postgres(ql)?:$/.test(u.protocol)) return url;
    const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
    if (!database) return url;
    this.routes.set(database, { host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(u.port || 5432) });
    u.hostname = this.info.host;
    u.port = String(this.info.port);
    // Heroku's URLs carry no sslmode: clients decide (drydock: require for a remote host).
    u.searchParams.delete('sslmode');
    const published = u.toString();
    BACKING.set(published, url);
    this.published.add(published);
    return published;
  }

  /** Publish every postgres:// value of a config var map. */
  publishAll(vars: Record<string, string> | undefined): Record<string, string> | undefined {
    if (!vars) return vars;
    return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, /^postgres(ql)?:\/\//.test(v) ? this.publish(v) : v]));
  }

  async close(): Promise<void> {
    for (const url of this.published) BACKING.delete(url);
    await this.proxy.close();
  }
}

/**
 * A local Heroku: the slice of the Platform API and the Postgres Data API that the real heroku
 * CLI (11.10.0) calls, on one node:http server, with each app backed by a real Postgres database.
 * Backup public URLs are served by a second, HTTPS server (download-server.ts) with a self-signed
 * certificate made at start. Tests and the demo point the real CLI here with `emulator.env`.
 *
 * What the CLI sends and needs back: /work/shared/heroku-cli-endpoints.md.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { startDownloadServer, type DownloadServer } from './download-server.js';

import { Access } from './access.js';
import { defaultFaultBody, Faults, RATE_LIMIT_BODY, RateLimiter } from './faults.js';
import { ApiError, matchRoute, notFound, type Reply, type Route, type RouteDeps } from './http.js';
import { dataRoutes } from './routes/data.js';
import { diagnoseRoutes } from './routes/diagnose.js';
import { platformRoutes } from './routes/platform.js';
import { streamRoutes } from './routes/streams.js';
import { transferRoutes } from './routes/transfers.js';
import { createSandbox, type Sandbox } from './sandbox.js';
import { EmulatorState, PRIMARY } from './state.js';
import { planName } from './plans.js';
import { createSelfSignedCert } from './tls.js';
import { TlsDatabases } from './tls-databases.js';
import { TransferStore } from './transfer-store.js';
import type { AttachSpec, EmulatedAppSpec, Emulator, EmulatorOptions, LoggedRequest } from './types.js';

export type {
  AddBackupOptions,
  AppSnapshot,
  AttachSpec,
  DownloadFault,
  EmulatedAppSpec,
  EmulatedBackup,
  EmulatedTls,
  Emulator,
  EmulatorOptions,
  EtagStyle,
  FaultSpec,
  LoggedRequest,
  RateLimitSpec,
  ReleaseSpec,
  TransferBehavior,
  TransferMode,
} from './types.js';

/** The API key the emulator accepts unless told otherwise. */
export const DEFAULT_API_KEY = 'drydock-emulator-key';

/**
 * The route modules, in match order. New API areas (backups and transfers, say) are one more
 * module here: `(deps: RouteDeps) => Route[]`.
 */
const ROUTE_MODULES: Array<(deps: RouteDeps) => Route[]> = [platformRoutes, dataRoutes, diagnoseRoutes, transferRoutes, streamRoutes];

const UNAUTHORIZED = { id: 'unauthorized', message: 'Invalid credentials provided.' };
const NO_ENDPOINT =
  'The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs. `POST`), and did you specify your intended version with the `Accept` header?';

/** True when the Authorization header carries the key (Bearer, or Basic with the key as password). */
function isAuthorized(header: string | undefined, apiKey: string): boolean {
  if (!header) return false;
  const [scheme, value = ''] = header.split(' ', 2);
  if (/^bearer$/i.test(scheme ?? '')) return value === apiKey;
  if (/^basic$/i.test(scheme ?? '')) return Buffer.from(value, 'base64').toString('utf8').split(':').slice(1).join(':') === apiKey;
  return false;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'bad_request', 'Request body is not valid JSON.');
  }
}

function send(res: ServerResponse, reply: Reply): number {
  const status = reply.status ?? 200;
  const isText = reply.text !== undefined;
  const payload = isText ? reply.text ?? '' : JSON.stringify(reply.body ?? {});
  res.writeHead(status, {
    // Without a JSON content type the CLI's http client leaves bodies as strings and commands crash.
    'Content-Type': reply.contentType ?? (isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8'),
    'Content-Length': Buffer.byteLength(payload),
    'Request-Id': randomUUID(),
    ...reply.headers,
  });
  res.end(payload);
  return status;
}

/** Start an emulator on 127.0.0.1 (port 0: a random free port). */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const apiKey = options.apiKey ?? DEFAULT_API_KEY;
  const state = new EmulatorState();
  const faults = new Faults();
  const access = new Access(state);
  for (const app of options.deny ?? []) access.deny(app);
  const rateLimit = new RateLimiter();
  const requests: LoggedRequest[] = [];
  let requestHook: ((method: string, path: string) => Promise<void>) | null = null;
  let baseUrl = '';
  let publicUrl = '';
  // The sandbox holds the CLI's HOME, the TLS files and the backup store; stop() removes it all.
  const sandbox = await createSandbox();
  const transfers = new TransferStore(join(sandbox.root, 'backups'), () => publicUrl);
  const deps: RouteDeps = { state, baseUrl: () => baseUrl, transfers };
  const routes = ROUTE_MODULES.flatMap((make) => make(deps));

  async function respond(req: IncomingMessage, res: ServerResponse, method: string, path: string, query: URLSearchParams): Promise<number> {
    try {
      const body = await readBody(req);
      await requestHook?.(method, path);
      const fault = faults.take(method, path);
      if (fault?.delayMs) await sleep(fault.delayMs);
      if (fault?.status) return send(res, { status: fault.status, body: fault.body ?? defaultFaultBody(fault.status) });
      const match = matchRoute(routes, method, path);
      if (match?.route.auth !== false && !isAuthorized(req.headers.authorization, apiKey)) {
        return send(res, { status: 401, body: UNAUTHORIZED });
      }
      // Heroku counts every authenticated request against the account's budget and says what is left.
      const limit = match?.route.auth === false ? undefined : rateLimit.take(path);
      const limitHeaders: Record<string, string> = limit ? { 'RateLimit-Remaining': String(limit.remaining) } : {};
      if (limit && !limit.allowed) return send(res, { status: 429, body: RATE_LIMIT_BODY, headers: limitHeaders });
      // Apps this account may not see (access.ts).
      if (match?.route.auth !== false) access.check(path, body);
      if (!match) throw notFound(NO_ENDPOINT);
      const reply = await match.route.handle({ method, path, query, params: match.params, headers: req.headers, body });
      return send(res, { ...reply, headers: { ...limitHeaders, ...reply.headers } });
    } catch (error) {
      if (error instanceof ApiError) return send(res, { status: error.status, body: { id: error.id, message: error.message } });
      // Never echo the error: it may carry a database URL with its password.
      return send(res, { status: 500, body: { id: 'internal_server_error', message: 'Internal server error.' } });
    }
  }

  const server: Server = createServer((req, res) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    void respond(req, res, method, path, url.searchParams).then((status) => requests.push({ method, path, status }));
  });

  let downloads: DownloadServer;
  let caCertPath: string;
  let tlsDatabases: TlsDatabases | undefined;
  try {
    if (options.tls) tlsDatabases = await TlsDatabases.start(join(sandbox.root, 'tls'), typeof options.tls === 'object' ? options.tls.host : undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const tls = await createSelfSignedCert(join(sandbox.root, 'tls'));
    caCertPath = tls.certPath;
    downloads = await startDownloadServer(transfers, tls, (r) => requests.push(r));
  } catch (error) {
    server.close();
    await tlsDatabases?.close();
    await sandbox.remove();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;
  publicUrl = downloads.url;
  const sandboxed: Sandbox = sandbox;

  /** Plan shorthand ("essential-0") and, with `tls`, the databases' public URLs. */
  const published = tlsDatabases;
  const prepare = (spec: EmulatedAppSpec): EmulatedAppSpec => ({
    ...spec,
    ...(spec.plan ? { plan: planName(spec.plan) } : {}),
    ...(published && spec.databaseUrl ? { databaseUrl: published.publish(spec.databaseUrl) } : {}),
    ...(published && spec.configVars ? { configVars: published.publishAll(spec.configVars) } : {}),
  });
  const prepareAttach = (spec: AttachSpec): AttachSpec => (published && spec.url ? { ...spec, url: published.publish(spec.url) } : spec);
  try {
    for (const spec of options.apps ?? []) state.addApp(prepare(spec));
    for (const spec of options.attachments ?? []) state.attach(prepareAttach(spec));
  } catch (error) {
    await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), downloads.close()]);
    await sandbox.remove();
    throw error;
  }

  let stopped: Promise<void> | undefined;
  return {
    url: baseUrl,
    port,
    apiKey,
    env: {
      HEROKU_HOST: baseUrl,
      // Host only: the CLI reuses HEROKU_HOST's scheme and port for the Data API.
      HEROKU_DATA_HOST: '127.0.0.1',
      // pg:diagnose's service: a host name too, reached on HEROKU_HOST's scheme and port.
      PGDIAGNOSE_URL: '127.0.0.1',
      HEROKU_API_KEY: apiKey,
      HEROKU_PARTICLEBOARD_URL: baseUrl,
      DISABLE_TELEMETRY: 'true',
      HEROKU_SKIP_NEW_VERSION_CHECK: 'true',
      HEROKU_DISABLE_AUTOUPDATE: 'true',
      // pg:backups:download (node https.get) must trust the backup server's self-signed cert.
      NODE_EXTRA_CA_CERTS: caCertPath,
      ...sandboxed.env,
    },
    addApp: (spec) => void state.addApp(prepare(spec)),
    removeApp: (name) => state.removeApp(name),
    attach: (spec) => void state.attach(prepareAttach(spec)),
    detach(app, name) {
      const target = state.get(app);
      const attachment = state.attachmentNamed(target, name);
      if (!attachment) throw new Error(`emulator: ${app} has no attachment named ${name}`);
      state.detach(target, attachment);
    },
    setConfigVar: (app, key, value) => state.setConfigVars(state.get(app), { [key]: value }),
    addRelease: (app, release) => state.addRelease(app, release).version,
    app: (name) => state.snapshot(name),
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    requests,
    setRequestHook: (hook) => void (requestHook = hook),
    publicUrl,
    caCertPath,
    setTransferBehavior: (app, behavior) => transfers.setBehavior(state.get(app), behavior),
    releaseTransfers: (app, outcome) => transfers.release(state.get(app), outcome),
    setRateLimit: (limit) => rateLimit.set(limit),
    setPublicUrlTtl: (ms) => transfers.setPublicUrlTtl(ms),
    setEtagStyle: (style) => transfers.setEtagStyle(style),
    setDownloadFault: (fault) => transfers.setDownloadFault(fault),
    backups: (app) =>
      transfers
        .list(state.get(app))
        .filter((t) => t.kind === 'backup')
        .map((t) => transfers.record(t)),
    async addBackup(app, backupOptions = {}) {
      const target = state.get(app);
      const attachment = state.attachmentNamed(target, backupOptions.database ?? PRIMARY);
      if (!attachment) throw new Error(`emulator: app ${app} has no database attached as ${backupOptions.database ?? PRIMARY}`);
      // A backup is a transfer of the app that pays for the database.
      const addon = state.addon(attachment);
      const url = backupOptions.fromDatabaseUrl ?? addon.url;
      return transfers.record(await transfers.addBackup(state.billingApp(addon), url, state.transferName(addon), backupOptions.ageMs ?? 0));
    },
    tls: published?.info,
    denyAccess: (app) => access.deny(app),
    allowAccess: (app) => access.allow(app),
    stop() {
      stopped ??= Promise.all([
        published?.close(),
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
        downloads.close(),
        transfers.close(),
      ]).then(() => sandboxed.remove());
      return stopped;
    },
  };
}

/**
 * A tiny router for the emulator. Route modules (routes/*.ts) export functions returning Route
 * arrays; index.ts concatenates them, so new endpoints (for example backups and transfers) come as a
 * new module without touching the others.
 */
import type { IncomingHttpHeaders } from 'node:http';

import type { EmulatorState } from './state.js';
import type { TransferStore } from './transfer-store.js';

/** What a handler sees of a request. */
export interface RequestContext {
  method: string;
  /** Pathname without the query string. */
  path: string;
  query: URLSearchParams;
  /** Named groups of the route's pattern, URI-decoded. */
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined when there is none). */
  body: unknown;
}

/** What a handler returns: JSON `body` (default) or plain `text`. */
export interface Reply {
  status?: number;
  body?: unknown;
  text?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

/** One endpoint. */
export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Anchored pattern on the pathname; use named groups for parameters. */
  pattern: RegExp;
  /** Whether the bearer token is required (default true). Stream URLs are unauthenticated, as on Heroku. */
  auth?: boolean;
  handle(ctx: RequestContext): Reply | Promise<Reply>;
}

/** An error answered as `{id, message}` with `status`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
  ) {
    super(message);
  }
}

/** Shorthand for the 404 Heroku sends for a missing object. */
export function notFound(message: string): ApiError {
  return new ApiError(404, 'not_found', message);
}

/** The first route matching a method and path, with its parameters. */
export function matchRoute(routes: readonly Route[], method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.groups ?? {})) if (v !== undefined) params[k] = decodeURIComponent(v);
    return { route, params };
  }
  return undefined;
}

/** What every route module gets. */
export interface RouteDeps {
  state: EmulatorState;
  /** The emulator's own http://127.0.0.1:PORT (for URLs it hands out). */
  baseUrl(): string;
  /** Backups and restores, with their dump files (routes/transfers.ts). */
  transfers: TransferStore;
}

/**
 * Apps this account may not see: Heroku answers 403 `forbidden`, "You do not have access to the app
 * NAME." (https://devcenter.heroku.com/articles/platform-api-reference#error-responses) to every
 * Platform and Data API path naming the app (by name or id, or through its add-on), and to the
 * attachment resolver asked about it.
 */
import { ApiError } from './http.js';
import type { EmulatorState } from './state.js';

/** Which app a request is about, by name or id, when its path or body says. */
function appKeysOf(path: string, body: unknown, state: EmulatorState): string[] {
  const keys: string[] = [];
  const app = /^(?:\/client\/v11)?\/apps\/([^/]+)/.exec(path)?.[1];
  if (app) keys.push(decodeURIComponent(app));
  const database = /^\/client\/v11\/databases\/([^/]+)/.exec(path)?.[1];
  if (database) {
    const found = state.findAddon(decodeURIComponent(database));
    if (found) keys.push(state.billingApp(found).name);
  }
  if (path === '/actions/addon-attachments/resolve' && typeof body === 'object' && body !== null) {
    const named = (body as Record<string, unknown>).app;
    if (typeof named === 'string') keys.push(named);
  }
  return keys;
}

/** The apps refused. */
export class Access {
  private readonly denied = new Set<string>();

  constructor(private readonly state: EmulatorState) {}

  /** Refuse every request about `app` with 403 (`allow` undoes it). */
  deny(app: string): void {
    this.denied.add(app);
  }

  allow(app: string): void {
    this.denied.delete(app);
  }

  /** Throws the 403 that refuses this (authorized) request, if it is about a denied app. */
  check(path: string, body: unknown): void {
    if (!this.denied.size) return;
    for (const key of appKeysOf(path, body, this.state)) {
      const name = this.state.find(key)?.name ?? key;
      if (this.denied.has(name)) throw new ApiError(403, 'forbidden', `You do not have access to the app ${name}.`);
    }
  }
}

/**
 * The emulator's in-memory world: apps, their config vars, add-on (at most one heroku-postgresql
 * database per app, attached as DATABASE), releases, formation and maintenance flag. Pure state:
 * no HTTP here. A database exists exactly while the app has a DATABASE_URL config var, the way an
 * attachment owns its config var on Heroku.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import type { AppSnapshot, EmulatedAppSpec, ReleaseSpec } from './types.js';

/** The one account every request acts as. */
export const ACCOUNT = { id: '8c2b8c5e-6f7a-4d2e-9a51-0d1f1f1f0001', email: 'dev@drydock.test', name: 'Drydock Developer' };

export const DEFAULT_PLAN = 'heroku-postgresql:standard-0';

/** The config var the attachment owns. */
export const DATABASE_VAR = 'DATABASE_URL';

const APP_NAME = /^[a-z][a-z0-9-]{1,29}$/;

/** The emulated heroku-postgresql add-on of one app. */
export interface AddonState {
  id: string;
  name: string;
  plan: string;
  attachmentId: string;
  createdAt: string;
}

/** One release. */
export interface ReleaseState {
  id: string;
  version: number;
  description: string;
  status: 'succeeded' | 'pending' | 'failed';
  output: string | undefined;
  hasOutputStream: boolean;
  createdAt: string;
}

/** One app. */
export interface AppState {
  id: string;
  name: string;
  createdAt: string;
  maintenance: boolean;
  configVars: Record<string, string>;
  formation: Map<string, { quantity: number; size: string; updatedAt: string }>;
  releases: ReleaseState[];
  addon: AddonState | undefined;
  /** Plan used when a database gets attached. */
  plan: string;
}

/** Thrown when an update names something the app doesn't have (the API answers 404). */
export class NotFound extends Error {
  constructor(readonly what: 'formation') {
    super(`Couldn't find that ${what}.`);
  }
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** All emulated apps. */
export class EmulatorState {
  private readonly apps = new Map<string, AppState>();

  /** Create an app (throws on a bad or duplicate name). */
  addApp(spec: EmulatedAppSpec): AppState {
    if (!APP_NAME.test(spec.name)) throw new Error(`invalid app name "${spec.name}": use lowercase letters, digits and dashes`);
    if (this.apps.has(spec.name)) throw new Error(`app ${spec.name} already exists`);
    const createdAt = now();
    const app: AppState = {
      id: randomUUID(),
      name: spec.name,
      createdAt,
      maintenance: false,
      configVars: { ...(spec.configVars ?? {}) },
      formation: new Map(),
      releases: [],
      addon: undefined,
      plan: spec.plan ?? DEFAULT_PLAN,
    };
    for (const [type, quantity] of Object.entries(spec.formation ?? { web: 1 })) {
      app.formation.set(type, { quantity, size: 'Basic', updatedAt: createdAt });
    }
    if (spec.databaseUrl !== undefined) app.configVars[DATABASE_VAR] = spec.databaseUrl;
    this.syncAddon(app);
    this.apps.set(app.name, app);
    this.addRelease(app.name, { description: 'Initial release' });
    if (app.addon) this.addRelease(app.name, { description: `Attach DATABASE (@ref:${app.addon.name})` });
    return app;
  }

  removeApp(name: string): void {
    if (!this.apps.delete(name)) throw new Error(`no emulated app named ${name}`);
  }

  /** Find an app by name or id. */
  find(nameOrId: string): AppState | undefined {
    return this.apps.get(nameOrId) ?? [...this.apps.values()].find((a) => a.id === nameOrId);
  }

  /** Like `find`, but throws (for the test-facing methods; routes answer 404 themselves). */
  get(nameOrId: string): AppState {
    const app = this.find(nameOrId);
    if (!app) throw new Error(`no emulated app named ${nameOrId}`);
    return app;
  }

  list(): AppState[] {
    return [...this.apps.values()];
  }

  /** The app and add-on owning an add-on id (or name). */
  findAddon(idOrName: string): { app: AppState; addon: AddonState } | undefined {
    for (const app of this.apps.values()) {
      if (app.addon && (app.addon.id === idOrName || app.addon.name === idOrName)) return { app, addon: app.addon };
    }
    return undefined;
  }

  /** The URL of an app's database (its DATABASE_URL), if it has one. */
  databaseUrl(app: AppState): string | undefined {
    return app.addon ? app.configVars[DATABASE_VAR] : undefined;
  }

  /** Apply config var changes (null removes). */
  setConfigVars(app: AppState, changes: Record<string, string | null>): void {
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) delete app.configVars[key];
      else app.configVars[key] = value;
    }
    this.syncAddon(app);
  }

  /** Append a release and return it. */
  addRelease(appName: string, spec: ReleaseSpec): ReleaseState {
    const app = this.get(appName);
    const version = (app.releases[app.releases.length - 1]?.version ?? 0) + 1;
    const status = spec.status ?? 'succeeded';
    const release: ReleaseState = {
      id: randomUUID(),
      version,
      description: spec.description ?? `Deploy ${randomBytes(4).toString('hex')}`,
      status,
      output: spec.output,
      hasOutputStream: spec.output !== undefined || status === 'pending',
      createdAt: now(),
    };
    app.releases.push(release);
    return release;
  }

  /** The release Heroku calls current: the newest one that succeeded. */
  currentRelease(app: AppState): ReleaseState | undefined {
    return [...app.releases].reverse().find((r) => r.status === 'succeeded');
  }

  /**
   * Apply `ps:scale` updates. Quantity arrives as a string and may be relative ("+1", "-1").
   * Throws NotFound('formation') for an unknown process type, Error for a bad quantity.
   */
  scale(app: AppState, updates: Array<{ type: string; quantity?: string | number; size?: string }>): string[] {
    const parsed = updates.map((u) => {
      const entry = app.formation.get(u.type);
      if (!entry) throw new NotFound('formation');
      const raw = u.quantity === undefined ? undefined : String(u.quantity).trim();
      if (raw !== undefined && !/^[+-]?\d+$/.test(raw)) throw new Error(`invalid quantity "${raw}" for ${u.type}`);
      return { u, entry, raw };
    });
    for (const { u, entry, raw } of parsed) {
      if (raw !== undefined) {
        const n = Number(raw);
        entry.quantity = Math.max(0, /^[+-]/.test(raw) ? entry.quantity + n : n);
      }
      if (u.size) entry.size = u.size;
      entry.updatedAt = now();
    }
    return parsed.map((p) => p.u.type);
  }

  snapshot(name: string): AppSnapshot {
    const app = this.get(name);
    return {
      maintenance: app.maintenance,
      formation: Object.fromEntries([...app.formation].map(([type, f]) => [type, f.quantity])),
      configVars: { ...app.configVars },
    };
  }

  /** Keep the add-on in step with the DATABASE_URL config var. */
  private syncAddon(app: AppState): void {
    const hasUrl = typeof app.configVars[DATABASE_VAR] === 'string';
    if (hasUrl && !app.addon) {
      app.addon = {
        id: randomUUID(),
        name: `postgresql-emu-${randomBytes(3).toString('hex')}`,
        plan: app.plan,
        attachmentId: randomUUID(),
        createdAt: now(),
      };
    } else if (!hasUrl && app.addon) {
      app.addon = undefined;
    }
  }
}

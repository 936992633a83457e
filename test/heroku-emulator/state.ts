/**
 * The emulator's in-memory world: apps, their config vars, heroku-postgresql add-ons and their
 * attachments, releases, formation and maintenance flag. Pure state: no HTTP here.
 *
 * As on Heroku, an add-on (one database) is billed to one app and attached to one or more apps, each
 * attachment under a name that owns the config var `<NAME>_URL`: a provisioned database is usually
 * attached twice to its billing app (`HEROKU_POSTGRESQL_COBALT` and `DATABASE`), a follower once (its
 * colour), and a database shared with another app once more there. Config vars keep the order they
 * were created in, which is the order `heroku pg:info` (no argument) breaks ties by.
 *
 * For tests' convenience a DATABASE_URL set on an app without a DATABASE attachment provisions an
 * add-on billed to that app; removing an attachment's config var detaches it, and an add-on without
 * attachments is gone.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import type { AppSnapshot, AttachSpec, EmulatedAppSpec, ReleaseSpec } from './types.js';

/** The one account every request acts as. */
export const ACCOUNT = { id: '8c2b8c5e-6f7a-4d2e-9a51-0d1f1f1f0001', email: 'dev@drydock.test', name: 'Drydock Developer' };

export const DEFAULT_PLAN = 'heroku-postgresql:standard-0';

/** The config var of the primary database's attachment. */
export const DATABASE_VAR = 'DATABASE_URL';

/** The attachment name of the primary database. */
export const PRIMARY = 'DATABASE';

/** The prefix of a colour attachment (HEROKU_POSTGRESQL_COBALT). */
export const COLOUR_PREFIX = 'HEROKU_POSTGRESQL_';

const APP_NAME = /^[a-z][a-z0-9-]{1,29}$/;

/** An attachment name Heroku accepts: upper case letters, digits and underscores, starting with a letter. */
export const ATTACHMENT_NAME = /^[A-Z][A-Z0-9_]{0,62}$/;

/** One emulated heroku-postgresql add-on: one database, billed to one app. */
export interface AddonState {
  id: string;
  name: string;
  plan: string;
  createdAt: string;
  /** The app that owns (and pays for) it: its backups and restores are that app's transfers. */
  billingAppId: string;
  /** The backing database: every attachment's config var holds this URL. */
  url: string;
}

/** One attachment of an add-on to an app, owning the config var `<name>_URL` there. */
export interface AttachmentState {
  id: string;
  name: string;
  appId: string;
  addonId: string;
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
  /** In the order they were created (attachment vars included). */
  configVars: Record<string, string>;
  formation: Map<string, { quantity: number; size: string; updatedAt: string }>;
  releases: ReleaseState[];
  /** Plan used when a database gets provisioned for this app. */
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

/** The config var an attachment owns. */
export function attachmentVar(name: string): string {
  return `${name}_URL`;
}

/** All emulated apps, add-ons and attachments. */
export class EmulatorState {
  private readonly apps = new Map<string, AppState>();
  private readonly addons = new Map<string, AddonState>();
  /** In the order they were made. */
  private attachments: AttachmentState[] = [];

  /** Create an app (throws on a bad or duplicate name). */
  addApp(spec: EmulatedAppSpec): AppState {
    if (!APP_NAME.test(spec.name)) throw new Error(`invalid app name "${spec.name}": use lowercase letters, digits and dashes`);
    if (this.apps.has(spec.name)) throw new Error(`app ${spec.name} already exists`);
    if (spec.colour !== undefined && !/^[A-Z][A-Z0-9]*$/.test(spec.colour)) throw new Error(`invalid colour "${spec.colour}": use upper case letters, such as COBALT`);
    const createdAt = now();
    const app: AppState = {
      id: randomUUID(),
      name: spec.name,
      createdAt,
      maintenance: false,
      configVars: {},
      formation: new Map(),
      releases: [],
      plan: spec.plan ?? DEFAULT_PLAN,
    };
    for (const [type, quantity] of Object.entries(spec.formation ?? { web: 1 })) {
      app.formation.set(type, { quantity, size: 'Basic', updatedAt: createdAt });
    }
    this.apps.set(app.name, app);
    this.addRelease(app.name, { description: 'Initial release' });
    const { DATABASE_URL: fromVars, ...otherVars } = spec.configVars ?? {};
    const databaseUrl = spec.databaseUrl ?? fromVars;
    if (databaseUrl !== undefined) {
      // Always a database of its own, even when another app's has the same URL (tests share servers).
      const addon = this.provision(app, databaseUrl);
      // Provisioning sets the colour's config var first, then DATABASE_URL (when it is the first database).
      if (spec.colour) this.attachTo(app, addon, `${COLOUR_PREFIX}${spec.colour}`);
      this.attachTo(app, addon, PRIMARY);
    }
    Object.assign(app.configVars, otherVars);
    return app;
  }

  removeApp(name: string): void {
    const app = this.get(name);
    for (const a of this.attachments.filter((x) => x.appId === app.id)) this.detach(app, a);
    // Add-ons billed to it go with it (their other attachments too).
    for (const addon of [...this.addons.values()].filter((x) => x.billingAppId === app.id)) this.destroyAddon(addon);
    this.apps.delete(name);
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

  /**
   * Attach a database to an app under `name` (its config var `<name>_URL`): with `from`, the add-on
   * behind another attachment (a database shared with, and billed to, another app); with `url`, a new
   * add-on billed to `billingApp` (default: this app), which then also gets its own colour attachment.
   * Throws when the name is taken on the app.
   */
  attach(spec: AttachSpec): AttachmentState {
    const app = this.get(spec.app);
    if (!ATTACHMENT_NAME.test(spec.name)) throw new Error(`invalid attachment name "${spec.name}": use upper case letters, digits and underscores`);
    if (this.attachmentsOf(app).some((a) => a.name === spec.name)) throw new Error(`${spec.app} already has an attachment named ${spec.name}`);
    if ((spec.url === undefined) === (spec.from === undefined)) throw new Error(`attach ${spec.app}:${spec.name}: give either a url (a new database) or from (one to share)`);
    if (spec.from !== undefined) {
      if (spec.billingApp) throw new Error(`attach ${spec.app}:${spec.name}: a shared database stays billed to its owner (no billingApp with from)`);
      const [fromApp = '', fromName = PRIMARY] = spec.from.split(':', 2);
      const source = this.attachmentNamed(this.get(fromApp), fromName);
      if (!source) throw new Error(`attach ${spec.app}:${spec.name}: ${fromApp} has no attachment named ${fromName}`);
      return this.attachTo(app, this.addon(source), spec.name);
    }
    const billing = spec.billingApp ? this.get(spec.billingApp) : app;
    const addon = this.provision(billing, spec.url ?? '');
    // Heroku attaches a new add-on to the app that pays for it.
    if (billing !== app) this.attachTo(billing, addon, `${COLOUR_PREFIX}${this.freeColour(billing)}`);
    return this.attachTo(app, addon, spec.name);
  }

  /** Remove an attachment (and the add-on once it has none left). */
  detach(app: AppState, attachment: AttachmentState): void {
    this.attachments = this.attachments.filter((a) => a !== attachment);
    delete app.configVars[attachmentVar(attachment.name)];
    const addon = this.addons.get(attachment.addonId);
    if (addon && !this.attachments.some((a) => a.addonId === addon.id)) this.addons.delete(addon.id);
  }

  /** An app's attachments, oldest first. */
  attachmentsOf(app: AppState): AttachmentState[] {
    return this.attachments.filter((a) => a.appId === app.id);
  }

  /** Every attachment of an add-on, oldest first. */
  attachmentsOfAddon(addon: AddonState): AttachmentState[] {
    return this.attachments.filter((a) => a.addonId === addon.id);
  }

  addon(attachment: AttachmentState): AddonState {
    const addon = this.addons.get(attachment.addonId);
    if (!addon) throw new Error(`emulator: attachment ${attachment.name} lost its add-on`);
    return addon;
  }

  appOf(attachment: AttachmentState): AppState {
    return this.get(attachment.appId);
  }

  billingApp(addon: AddonState): AppState {
    return this.get(addon.billingAppId);
  }

  /** The add-ons attached to an app (shared ones included), in attachment order. */
  addonsOf(app: AppState): AddonState[] {
    const out: AddonState[] = [];
    for (const a of this.attachmentsOf(app)) {
      const addon = this.addon(a);
      if (!out.includes(addon)) out.push(addon);
    }
    return out;
  }

  /** An add-on by id or name. */
  findAddon(idOrName: string): AddonState | undefined {
    return this.addons.get(idOrName) ?? [...this.addons.values()].find((a) => a.name === idOrName);
  }

  /** An app's attachment by name (`DATABASE`, `HEROKU_POSTGRESQL_COBALT`) or config var (`DATABASE_URL`). */
  attachmentNamed(app: AppState, name: string): AttachmentState | undefined {
    const bare = name.replace(/_URL$/, '');
    return this.attachmentsOf(app).find((a) => a.name === bare);
  }

  /**
   * The name a transfer gives a database (a backup's from_name, a restore's to_name): its colour on
   * the billing app ("Backing up COBALT to b003"), else the name it is attached as there (DATABASE).
   */
  transferName(addon: AddonState): string {
    const onBilling = this.attachmentsOfAddon(addon).filter((a) => a.appId === addon.billingAppId);
    const colour = onBilling.find((a) => a.name.startsWith(COLOUR_PREFIX));
    if (colour) return colour.name.slice(COLOUR_PREFIX.length);
    return onBilling[0]?.name ?? PRIMARY;
  }

  /** The URL of an app's primary database (its DATABASE attachment), if it has one. */
  databaseUrl(app: AppState): string | undefined {
    const primary = this.attachmentNamed(app, PRIMARY);
    return primary ? this.addon(primary).url : undefined;
  }

  /**
   * Apply config var changes (null removes). An attachment's config var changes its add-on's URL
   * everywhere it is attached (or, removed, detaches it); DATABASE_URL on an app without a DATABASE
   * attachment provisions a database billed to the app.
   */
  setConfigVars(app: AppState, changes: Record<string, string | null>): void {
    for (const [key, value] of Object.entries(changes)) {
      const attachment = this.attachmentsOf(app).find((a) => attachmentVar(a.name) === key);
      if (attachment) {
        if (value === null) this.detach(app, attachment);
        else this.moveAddon(this.addon(attachment), value);
      } else if (key === DATABASE_VAR && value !== null) {
        this.attach({ app: app.name, name: PRIMARY, url: value });
      } else if (value === null) {
        delete app.configVars[key];
      } else {
        app.configVars[key] = value;
      }
    }
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

  /** A new add-on backed by `url`, billed to `billing` (not attached yet). */
  private provision(billing: AppState, url: string): AddonState {
    const addon: AddonState = {
      id: randomUUID(),
      name: `postgresql-emu-${randomBytes(3).toString('hex')}`,
      plan: billing.plan,
      createdAt: now(),
      billingAppId: billing.id,
      url,
    };
    this.addons.set(addon.id, addon);
    return addon;
  }

  private attachTo(app: AppState, addon: AddonState, name: string): AttachmentState {
    const attachment: AttachmentState = { id: randomUUID(), name, appId: app.id, addonId: addon.id, createdAt: now() };
    this.attachments.push(attachment);
    app.configVars[attachmentVar(name)] = addon.url;
    if (app.releases.length) this.addRelease(app.name, { description: `Attach ${name} (@ref:${addon.name})` });
    return attachment;
  }

  private destroyAddon(addon: AddonState): void {
    for (const a of this.attachmentsOfAddon(addon)) {
      const app = this.find(a.appId);
      if (app) delete app.configVars[attachmentVar(a.name)];
    }
    this.attachments = this.attachments.filter((a) => a.addonId !== addon.id);
    this.addons.delete(addon.id);
  }

  /** Point an add-on at another database, in every app it is attached to. */
  private moveAddon(addon: AddonState, url: string): void {
    addon.url = url;
    for (const a of this.attachmentsOfAddon(addon)) {
      const app = this.find(a.appId);
      if (app) app.configVars[attachmentVar(a.name)] = url;
    }
  }

  /** A colour not yet used on the app. */
  private freeColour(app: AppState): string {
    const used = new Set(this.attachmentsOf(app).map((a) => a.name));
    return COLOURS.find((c) => !used.has(`${COLOUR_PREFIX}${c}`)) ?? `C${randomBytes(2).toString('hex').toUpperCase()}`;
  }
}

/** Colours Heroku names databases by. */
const COLOURS = ['AMBER', 'BLACK', 'BLUE', 'BRONZE', 'COBALT', 'CRIMSON', 'GOLD', 'GRAY', 'GREEN', 'IVORY', 'MAROON', 'NAVY', 'OLIVE', 'ONYX', 'ORANGE', 'PINK', 'PURPLE', 'RED', 'SILVER', 'TEAL', 'WHITE', 'YELLOW'];

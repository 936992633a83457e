/**
 * State → the JSON shapes of the Platform API. Only fields the heroku CLI reads (see
 * /work/shared/heroku-cli-endpoints.md) plus a few that make output look real.
 */
import { createHash } from 'node:crypto';

import { ACCOUNT, attachmentVar, type AddonState, type AppState, type AttachmentState, type EmulatorState, type ReleaseState } from './state.js';

/** Where release output streams live (routes/streams.ts serves them). */
export const RELEASE_OUTPUT_PATH = '/streams/release-output';

const STACK = { id: '2b3c4d5e-0000-4000-8000-000000000024', name: 'heroku-24' };
const REGION = { id: '59accabd-516d-4f0e-83e6-6e3757701145', name: 'us' };
const SERVICE = { id: '6c67493d-8fc2-4cd4-9161-4f1ec11cbe69', name: 'heroku-postgresql' };

/** The default command of a process type (what a Procfile would say). */
function commandFor(type: string): string {
  return type === 'web' ? 'npm start' : type === 'release' ? 'npx --no drydock release' : `npm run ${type}`;
}

/** A UUID-shaped id that stays the same for the same parts. */
function stableId(...parts: string[]): string {
  const h = createHash('sha1').update(parts.join('/')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function appRef(app: AppState): { id: string; name: string } {
  return { id: app.id, name: app.name };
}

/** GET /apps/{app} */
export function appJson(app: AppState): Record<string, unknown> {
  return {
    id: app.id,
    name: app.name,
    acm: false,
    archived_at: null,
    buildpack_provided_description: 'Node.js',
    build_stack: STACK,
    created_at: app.createdAt,
    create_status: 'complete',
    generation: { id: '1a2b3c4d-0000-4000-8000-00000000ceda', name: 'cedar' },
    git_url: `https://git.heroku.com/${app.name}.git`,
    internal_routing: null,
    maintenance: app.maintenance,
    organization: null,
    owner: { id: ACCOUNT.id, email: ACCOUNT.email },
    process_tier: 'production',
    region: REGION,
    released_at: app.releases[app.releases.length - 1]?.createdAt ?? app.createdAt,
    repo_size: 0,
    slug_size: 0,
    space: null,
    stack: STACK,
    team: null,
    updated_at: app.createdAt,
    web_url: `https://${app.name}-0123456789ab.herokuapp.com/`,
  };
}

/** GET /account */
export function accountJson(): Record<string, unknown> {
  return { ...ACCOUNT, verified: true, two_factor_authentication: false, beta: false, created_at: '2020-01-01T00:00:00Z' };
}

/** An add-on, with the plan expanded (what `Accept-Inclusion: addon:plan` asks for). `app` is the app that pays for it. */
export function addonJson(state: EmulatorState, addon: AddonState): Record<string, unknown> {
  const billing = state.billingApp(addon);
  return {
    id: addon.id,
    name: addon.name,
    addon_service: SERVICE,
    app: appRef(billing),
    billing_entity: { id: billing.id, name: billing.name, type: 'app' },
    // The config vars of its attachments on the billing app.
    config_vars: state.attachmentsOfAddon(addon).filter((a) => a.appId === billing.id).map((a) => attachmentVar(a.name)),
    created_at: addon.createdAt,
    plan: { id: '0e1f2a3b-0000-4000-8000-00000000000a', name: addon.plan },
    provider_id: addon.id,
    state: 'provisioned',
    updated_at: addon.createdAt,
    web_url: `https://addons-sso.heroku.com/apps/${billing.id}/addons/${addon.id}`,
  };
}

/** One attachment: its name owns the config var `<name>_URL` on the attachment's app. */
export function attachmentJson(state: EmulatorState, attachment: AttachmentState): Record<string, unknown> {
  const app = state.appOf(attachment);
  const addon = state.addon(attachment);
  return {
    id: attachment.id,
    name: attachment.name,
    namespace: null,
    app: appRef(app),
    addon: addonJson(state, addon),
    config_vars: [attachmentVar(attachment.name)],
    created_at: attachment.createdAt,
    updated_at: attachment.createdAt,
    web_url: `https://addons-sso.heroku.com/apps/${app.id}/addons/${addon.id}`,
  };
}

/** One release. `current` marks the newest succeeded one. */
export function releaseJson(app: AppState, release: ReleaseState, current: ReleaseState | undefined, baseUrl: string, planNames: string[]): Record<string, unknown> {
  return {
    id: release.id,
    version: release.version,
    description: release.description,
    status: release.status,
    current: release === current,
    created_at: release.createdAt,
    updated_at: release.createdAt,
    app: appRef(app),
    addon_plan_names: planNames,
    slug: null,
    user: { id: ACCOUNT.id, email: ACCOUNT.email },
    output_stream_url: release.hasOutputStream ? `${baseUrl}${RELEASE_OUTPUT_PATH}/${app.id}/${release.version}` : null,
  };
}

/** GET /apps/{app}/formation */
export function formationJson(app: AppState): Array<Record<string, unknown>> {
  return [...app.formation].map(([type, f]) => ({
    id: stableId(app.id, 'formation', type),
    type,
    quantity: f.quantity,
    size: f.size,
    command: commandFor(type),
    app: appRef(app),
    created_at: app.createdAt,
    updated_at: f.updatedAt,
  }));
}

/** GET /apps/{app}/dynos: one running dyno per unit of formation. */
export function dynosJson(app: AppState): Array<Record<string, unknown>> {
  const release = app.releases[app.releases.length - 1];
  return [...app.formation].flatMap(([type, f]) =>
    Array.from({ length: f.quantity }, (_, i) => ({
      id: stableId(app.id, 'dyno', type, String(i + 1), f.updatedAt),
      name: `${type}.${i + 1}`,
      type,
      command: commandFor(type),
      size: f.size,
      state: 'up',
      attach_url: null,
      app: appRef(app),
      release: release ? { id: release.id, version: release.version } : null,
      created_at: f.updatedAt,
      updated_at: f.updatedAt,
    })),
  );
}

/** GET /apps/{app}/collaborators: the owner. */
export function collaboratorsJson(app: AppState): Array<Record<string, unknown>> {
  return [
    {
      id: ACCOUNT.id,
      app: appRef(app),
      permissions: [],
      role: 'owner',
      user: { id: ACCOUNT.id, email: ACCOUNT.email, federated: false },
      created_at: app.createdAt,
      updated_at: app.createdAt,
    },
  ];
}

/**
 * The Platform API slice (api.heroku.com) the heroku CLI calls for config, apps:info, releases,
 * maintenance, ps and ps:scale, and the add-on attachment resolver every pg:* command starts with.
 */
import { ApiError, notFound, type Reply, type RequestContext, type Route, type RouteDeps } from '../http.js';
import { attachmentVar, NotFound, type AppState } from '../state.js';
import {
  accountJson,
  addonJson,
  appJson,
  attachmentJson,
  collaboratorsJson,
  dynosJson,
  formationJson,
  releaseJson,
} from '../serialize.js';

const APP = '(?<app>[^/]+)';

/** The app named in the path, or Heroku's 404. */
export function appOfParams(deps: RouteDeps, nameOrId: string): AppState {
  const app = deps.state.find(nameOrId);
  if (!app) throw notFound("Couldn't find that app.");
  return app;
}

/** A route under /apps/{app}: the handler gets the app (unknown apps are answered with 404). */
export function appRoute(
  deps: RouteDeps,
  method: Route['method'],
  suffix: string,
  handle: (app: AppState, ctx: RequestContext) => Reply | Promise<Reply>,
): Route {
  return {
    method,
    pattern: new RegExp(`^/apps/${APP}${suffix}$`),
    handle: (ctx) => handle(appOfParams(deps, ctx.params.app ?? ''), ctx),
  };
}

function invalid(message: string): ApiError {
  return new ApiError(422, 'invalid_params', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parse the `Range: version ..; max=15, order=desc` header releases sends. */
function parseRange(header: string | undefined): { max: number; desc: boolean } {
  const max = Number(/max=(\d+)/.exec(header ?? '')?.[1] ?? 200);
  return { max: Math.max(1, Math.min(max, 1000)), desc: /order=desc/.test(header ?? '') };
}

/** Heroku's release description for a config change. */
function configDescription(changes: Record<string, unknown>): string {
  const keys = Object.keys(changes);
  const removed = keys.filter((k) => changes[k] === null);
  const verb = removed.length === keys.length ? 'Remove' : removed.length === 0 ? 'Set' : 'Update';
  return `${verb} ${keys.join(', ')} config vars`;
}

/** Every Platform API route. */
export function platformRoutes(deps: RouteDeps): Route[] {
  const { state } = deps;
  const route = (method: Route['method'], suffix: string, handle: (app: AppState, ctx: RequestContext) => Reply): Route =>
    appRoute(deps, method, suffix, handle);
  return [
    // Also answers particleboard's GET /account (HEROKU_PARTICLEBOARD_URL points here).
    { method: 'GET', pattern: /^\/account$/, handle: () => ({ body: accountJson() }) },
    { method: 'GET', pattern: /^\/apps$/, handle: () => ({ body: state.list().map(appJson) }) },
    route('GET', '', (app) => ({ body: appJson(app) })),
    route('PATCH', '', (app, ctx) => {
      if (!isRecord(ctx.body)) throw invalid('Expected a JSON object.');
      const { maintenance } = ctx.body;
      if (maintenance !== undefined) {
        if (typeof maintenance !== 'boolean') throw invalid('maintenance must be a boolean.');
        app.maintenance = maintenance;
      }
      return { body: appJson(app) };
    }),

    route('GET', '/config-vars', (app) => ({ body: { ...app.configVars } })),
    route('PATCH', '/config-vars', (app, ctx) => {
      const changes = ctx.body;
      if (!isRecord(changes) || Object.values(changes).some((v) => v !== null && typeof v !== 'string')) {
        throw invalid('Config vars must be a JSON object of strings (or null to remove).');
      }
      if (Object.keys(changes).length) {
        state.setConfigVars(app, changes as Record<string, string | null>);
        state.addRelease(app.name, { description: configDescription(changes) });
      }
      return { body: { ...app.configVars } };
    }),

    {
      // What every pg:* command starts with. Matches, on the app (or every app): the attachment name
      // (DATABASE, HEROKU_POSTGRESQL_COBALT), its config var (DATABASE_URL), its id, or the add-on's name
      // or id (then each of its attachments there, as Heroku answers).
      method: 'POST',
      pattern: /^\/actions\/addon-attachments\/resolve$/,
      handle: (ctx) => {
        const body = isRecord(ctx.body) ? ctx.body : {};
        const wanted = typeof body.addon_attachment === 'string' ? body.addon_attachment : '';
        const apps = typeof body.app === 'string' ? [appOfParams(deps, body.app)] : state.list();
        const hits = apps.flatMap((app) =>
          state.attachmentsOf(app).filter((a) => {
            const addon = state.addon(a);
            return [a.name, attachmentVar(a.name), a.id, addon.name, addon.id, `${app.name}::${a.name}`].includes(wanted);
          }),
        );
        if (hits.length === 0) throw notFound("Couldn't find that addon.");
        return { body: hits.map((a) => attachmentJson(state, a)) };
      },
    },
    route('GET', '/addon-attachments', (app) => ({ body: state.attachmentsOf(app).map((a) => attachmentJson(state, a)) })),
    route('GET', '/addons', (app) => ({ body: state.addonsOf(app).map((addon) => addonJson(state, addon)) })),
    route('GET', '/dynos', (app) => ({ body: dynosJson(app) })),
    route('GET', '/collaborators', (app) => ({ body: collaboratorsJson(app) })),
    // No emulated app is in a pipeline; the CLI turns this 404 into `pipeline_coupling: null`.
    route('GET', '/pipeline-couplings', () => {
      throw notFound("Couldn't find that pipeline coupling.");
    }),

    route('GET', '/formation', (app) => ({ body: formationJson(app) })),
    route('PATCH', '/formation', (app, ctx) => {
      const updates = isRecord(ctx.body) ? ctx.body.updates : undefined;
      if (!Array.isArray(updates) || !updates.every((u) => isRecord(u) && typeof u.type === 'string')) {
        throw invalid('Expected {"updates": [{"type": …, "quantity": …}]}.');
      }
      let changed: string[];
      try {
        changed = state.scale(app, updates as Array<{ type: string; quantity?: string | number; size?: string }>);
      } catch (error) {
        if (error instanceof NotFound) throw notFound("Couldn't find that process type.");
        throw invalid((error as Error).message);
      }
      return { body: formationJson(app).filter((f) => changed.includes(String(f.type))) };
    }),

    route('GET', '/releases', (app, ctx) => {
      const { max, desc } = parseRange(ctx.headers.range);
      const ordered = desc ? [...app.releases].reverse() : app.releases;
      const current = state.currentRelease(app);
      const plans = state.addonsOf(app).map((a) => a.plan);
      return { body: ordered.slice(0, max).map((r) => releaseJson(app, r, current, deps.baseUrl(), plans)) };
    }),
    route('GET', '/releases/(?<release>[^/]+)', (app, ctx) => {
      const key = ctx.params.release ?? '';
      const release = app.releases.find((r) => String(r.version) === key.replace(/^v/, '') || r.id === key);
      if (!release) throw notFound("Couldn't find that release.");
      return { body: releaseJson(app, release, state.currentRelease(app), deps.baseUrl(), state.addonsOf(app).map((a) => a.plan)) };
    }),
  ];
}

/**
 * Backups and restores on the Data API (endpoints doc §4 pg:backups*, §5): what `heroku
 * pg:backups`, `pg:backups:info|capture|url|download|restore|cancel` call.
 *
 * - Transfers are addressed by num (info, url, download) and by uuid (the capture/restore poll);
 *   the app in the path is a name (capture polls) or an id (restore polls).
 * - `?verbose=true` adds `logs`, as on Heroku; the CLI needs them for info and after a failure.
 * - A backup's `to_url` is this emulator's own (unsigned) storage URL, which is what the CLI posts
 *   back as a restore's `backup_url`; `actions/public-url` signs one that expires.
 * - Transfers are listed under the app that pays for the database: asked of an app it is only
 *   attached to, the list has none of them (as on Heroku).
 */
import { ApiError, notFound, type Route, type RouteDeps } from '../http.js';
import { transferJson, type TransferState } from '../transfer-store.js';
import type { AppState } from '../state.js';
import { refuseWhileBusy } from '../transfer-busy.js';
import { DATA_PREFIX, databaseOf } from './data.js';
import { appOfParams } from './platform.js';

const APP_TRANSFERS = `^${DATA_PREFIX}/apps/(?<app>[^/]+)/transfers`;

/** Every transfer route. */
export function transferRoutes(deps: RouteDeps): Route[] {
  const store = deps.transfers;

  function transferOf(app: AppState, key: string): TransferState {
    const t = store.find(app, key);
    if (!t) throw notFound("Couldn't find that transfer.");
    return t;
  }

  return [
    {
      method: 'GET',
      pattern: new RegExp(`${APP_TRANSFERS}$`),
      handle: (ctx) => {
        const app = appOfParams(deps, ctx.params.app ?? '');
        const verbose = ctx.query.get('verbose') === 'true';
        return { body: store.list(app).map((t) => transferJson(t, verbose)) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${APP_TRANSFERS}/(?<key>[^/]+)$`),
      handle: (ctx) => {
        const app = appOfParams(deps, ctx.params.app ?? '');
        return { body: transferJson(transferOf(app, ctx.params.key ?? ''), ctx.query.get('verbose') === 'true') };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`${APP_TRANSFERS}/(?<key>[^/]+)/actions/public-url$`),
      handle: (ctx) => {
        const app = appOfParams(deps, ctx.params.app ?? '');
        const t = transferOf(app, ctx.params.key ?? '');
        if (t.kind !== 'backup' || !t.file) throw notFound("Couldn't find that backup: it has no stored dump.");
        const signed = store.signedUrlOf(t);
        return { body: { url: signed.url, expires_at: signed.expiresAt.toISOString() } };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`${APP_TRANSFERS}/(?<key>[^/]+)/actions/cancel$`),
      handle: (ctx) => {
        const app = appOfParams(deps, ctx.params.app ?? '');
        const t = transferOf(app, ctx.params.key ?? '');
        store.cancel(t);
        return { body: transferJson(t, false) };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${DATA_PREFIX}/databases/(?<id>[^/]+)/backups$`),
      handle: async (ctx) => {
        const { app, url, name } = databaseOf(deps, ctx.params.id ?? '');
        refuseWhileBusy(store, app);
        const t = await store.capture(app, url, name);
        return { status: 201, body: transferJson(t, false) };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${DATA_PREFIX}/databases/(?<id>[^/]+)/restores$`),
      handle: async (ctx) => {
        const { app, url, name } = databaseOf(deps, ctx.params.id ?? '');
        const body = typeof ctx.body === 'object' && ctx.body !== null ? (ctx.body as Record<string, unknown>) : {};
        const backupUrl = body.backup_url;
        if (typeof backupUrl !== 'string' || !/^https?:\/\//.test(backupUrl)) {
          throw new ApiError(422, 'invalid_params', 'backup_url must be an http(s) URL.');
        }
        refuseWhileBusy(store, app);
        const t = await store.restore(app, url, backupUrl, name);
        return { status: 201, body: transferJson(t, false) };
      },
    },
  ];
}

/**
 * The Postgres Data API slice (api.data.heroku.com, paths /client/v11/...). The CLI sends these to
 * HEROKU_DATA_HOST on HEROKU_HOST's scheme and port, so they arrive at this same server.
 *
 * Backups and transfers (capture, list, info, public-url, restore) live in routes/transfers.ts;
 * `databaseOf` and `appOfParams` are the lookups they share.
 */
import { readDatabaseFacts, humanBytes, planTitle } from '../database-facts.js';
import { notFound, type Route, type RouteDeps } from '../http.js';
import { connectionsValue, dataSizeValue, planFeatureEntries } from '../plans.js';
import type { AddonState, AppState } from '../state.js';

/** Prefix of every Data API path. */
export const DATA_PREFIX = '/client/v11';

/**
 * The add-on of a Data API database id (add-on id or name), the app that pays for it (where its
 * transfers are), its backing URL and the name transfers give it.
 */
export function databaseOf(deps: RouteDeps, id: string): { app: AppState; addon: AddonState; url: string; name: string } {
  const addon = deps.state.findAddon(id);
  if (!addon) throw notFound("Couldn't find that addon.");
  return { app: deps.state.billingApp(addon), addon, url: addon.url, name: deps.state.transferName(addon) };
}

/** The `info` array of GET /client/v11/databases/{id}, with real facts when the database answers. */
async function infoEntries(addon: AddonState, url: string): Promise<Array<{ name: string; values: string[] }>> {
  const entries = [{ name: 'Plan', values: [planTitle(addon.plan)] }];
  try {
    const facts = await readDatabaseFacts(url);
    entries.push(
      { name: 'Status', values: ['Available'] },
      { name: 'Data Size', values: [dataSizeValue(addon.plan, humanBytes(facts.sizeBytes))] },
      { name: 'Tables', values: [String(facts.tables)] },
      { name: 'PG Version', values: [facts.version] },
      { name: 'Connections', values: [connectionsValue(addon.plan, facts.connections)] },
    );
  } catch {
    // What Heroku shows for a database it can't reach; the error itself may carry the URL.
    entries.push({ name: 'Status', values: ['Unavailable'] });
  }
  entries.push(
    { name: 'Connection Pooling', values: ['Available'] },
    { name: 'Credentials', values: ['1'] },
    ...planFeatureEntries(addon.plan),
    { name: 'Created', values: [addon.createdAt.replace('T', ' ').replace(/Z$/, ' UTC')] },
    { name: 'Region', values: ['us'] },
    { name: 'Data Encryption', values: ['In Use'] },
    { name: 'Maintenance', values: ['not required'] },
  );
  return entries;
}

/** The Data API's database routes (transfers are in routes/transfers.ts). */
export function dataRoutes(deps: RouteDeps): Route[] {
  return [
    {
      method: 'GET',
      pattern: new RegExp(`^${DATA_PREFIX}/databases/(?<id>[^/]+)$`),
      handle: async (ctx) => {
        const { addon, url } = databaseOf(deps, ctx.params.id ?? '');
        return {
          body: {
            addon_id: addon.id,
            name: addon.name,
            plan: addon.plan.split(':')[1] ?? addon.plan,
            created_at: addon.createdAt,
            // Equal to its attachments' config vars, so pg:info lists the ones that hold it.
            resource_url: url,
            following: null,
            followers: [],
            'waiting?': false,
            info: await infoEntries(addon, url),
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${DATA_PREFIX}/databases/(?<id>[^/]+)/wait_status$`),
      handle: (ctx) => {
        databaseOf(deps, ctx.params.id ?? '');
        return { body: { 'waiting?': false, message: 'Available' } };
      },
    },
  ];
}

/**
 * Unauthenticated plain-HTTP streams, like Heroku's signed output URLs: the release-phase output
 * that `heroku releases:output` fetches with got (no Authorization header).
 */
import { notFound, type Route, type RouteDeps } from '../http.js';
import { RELEASE_OUTPUT_PATH } from '../serialize.js';

/** Routes that need no API key. */
export function streamRoutes(deps: RouteDeps): Route[] {
  return [
    {
      method: 'GET',
      pattern: new RegExp(`^${RELEASE_OUTPUT_PATH}/(?<app>[^/]+)/(?<version>\\d+)$`),
      auth: false,
      handle: (ctx) => {
        const app = deps.state.find(ctx.params.app ?? '');
        const release = app?.releases.find((r) => String(r.version) === ctx.params.version);
        // A pending release whose command has not started has no output yet: the CLI says so on 404.
        if (!release || release.output === undefined) throw notFound('Release output not found.');
        return { text: release.output, contentType: 'text/plain; charset=utf-8' };
      },
    },
  ];
}

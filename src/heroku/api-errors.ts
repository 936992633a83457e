/**
 * The Platform and Data API's error bodies, as the heroku CLI prints them ("Error: <message>" then
 * "Error ID: <id>", exit 2), turned into drydock errors with a hint. The ids are Heroku's
 * (https://devcenter.heroku.com/articles/platform-api-reference#error-responses): `forbidden` (403,
 * "You do not have access to the app NAME."), `rate_limit` (429: the account's budget of 4,500
 * requests, refilled at about 75 a minute, is spent), `not_found` (404), and the 5xx ids
 * (`internal_server_error`, `service_unavailable`). A transfer refused while another runs says "a
 * transfer is currently in progress".
 */
import { HerokuError } from '../errors.js';
import { TRANSFER_IN_PROGRESS } from './transfer-wait.js';

/** The "Error ID: …" the CLI printed, if any. */
export function errorIdOf(flat: string): string | undefined {
  return /Error ID: ([a-z_]+)/.exec(flat)?.[1];
}

/**
 * The HerokuError for an API refusal in the CLI's output (`flat`: whitespace collapsed, decorations
 * and secrets removed; `what`: the CLI's one-line error), or undefined when it is not one of these.
 */
export function classifyApiError(flat: string, what: string, app: string | undefined): HerokuError | undefined {
  const id = errorIdOf(flat);
  const on = app ? ` (app ${app})` : '';
  const said = what ? `: ${what}` : '';
  if (TRANSFER_IN_PROGRESS.test(flat)) {
    return new HerokuError('busy', `Heroku refused the transfer${on}: a transfer is currently in progress`, {
      hint: `Heroku runs one transfer per database at a time: wait for it (\`heroku pg:backups${app ? ` -a ${app}` : ''}\` lists it) or cancel it with \`heroku pg:backups:cancel${app ? ` -a ${app}` : ''}\``,
    });
  }
  if (id === 'forbidden' || /you do not have access to the app/i.test(flat)) {
    return new HerokuError('forbidden', `Heroku denied access${app ? ` to app ${app}` : ''}${said}`, {
      hint: `check the account you are logged in as (\`heroku auth:whoami\`, or HEROKU_API_KEY): an owner or admin of ${app ?? 'the app'} can give it access (\`heroku access:add EMAIL${app ? ` -a ${app}` : ''}\`)`,
    });
  }
  if (id === 'rate_limit' || /reached the API rate limit/i.test(flat)) {
    return new HerokuError('rate-limited', `Heroku's API rate limit was reached${on}${said}`, {
      hint: 'Heroku refills the budget (4,500 requests) at about 75 a minute: wait a few minutes, and stop other scripts using the same account',
    });
  }
  if (
    (id !== undefined && /^(internal_server_error|service_unavailable|bad_gateway|gateway_timeout|unavailable)$/.test(id)) ||
    /HTTP Error 5\d\d\b|\b50[0234] (Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)\b/i.test(flat)
  ) {
    return new HerokuError('unavailable', `Heroku's API failed${on}${said}`, {
      hint: 'a problem on Heroku\'s side: check https://status.heroku.com and try again',
    });
  }
  if (id === 'not_found') {
    return new HerokuError('failed', `Heroku found nothing by that name${on}${said}`, {
      hint: 'check the names given (the app, the database attachment such as DATABASE_URL, the backup id such as b012)',
    });
  }
  return undefined;
}

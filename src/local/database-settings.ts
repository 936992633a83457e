/**
 * Database-level settings (`ALTER DATABASE … SET`): production's are put on the copy, because migrations
 * and queries behave differently without them (statement_timeout, search_path, timezone…). pg_dump
 * without --create does not carry them, so `heroku pg:pull` loses them. Template copies (snapshots,
 * spares) do not carry them either, so LocalServer.create copies them too.
 */
import type pg from 'pg';

import { quoteIdent, quoteLiteral } from '../pg/ident.js';

/**
 * Settings whose value is a list of names, each quoted on its own (pg_dump's variable_is_guc_list_quote):
 * `search_path="$user", public` is applied as `SET search_path = '$user', 'public'`.
 */
const LIST_SETTINGS = new Set(['local_preload_libraries', 'search_path', 'session_preload_libraries', 'shared_preload_libraries', 'temp_tablespaces', 'unix_socket_directories']);

/** The elements of a list setting's stored value (`"$user", public` → `$user`, `public`). Pure. */
export function splitListSetting(value: string): string[] {
  const items: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (value[i] === ' ' || value[i] === ',') i++;
    if (i >= value.length) break;
    if (value[i] === '"') {
      let item = '';
      i++;
      while (i < value.length) {
        if (value[i] === '"' && value[i + 1] === '"') {
          item += '"';
          i += 2;
        } else if (value[i] === '"') {
          i++;
          break;
        } else item += value[i++];
      }
      items.push(item);
    } else {
      const end = value.indexOf(',', i);
      items.push(value.slice(i, end < 0 ? value.length : end).trim());
      i = end < 0 ? value.length : end;
    }
  }
  return items;
}

/** `ALTER DATABASE db SET name = value` for one stored `name=value`. Pure. */
export function alterDatabaseSetting(database: string, setting: string): string {
  const eq = setting.indexOf('=');
  const name = setting.slice(0, eq);
  const value = setting.slice(eq + 1);
  const rendered = LIST_SETTINGS.has(name.toLowerCase()) ? splitListSetting(value).map(quoteLiteral).join(', ') || "''" : quoteLiteral(value);
  return `ALTER DATABASE ${quoteIdent(database)} SET ${name.split('.').map(quoteIdent).join('.')} = ${rendered}`;
}

/** What applying the settings did. */
export interface AppliedSettings {
  applied: string[];
  /** Settings this server refused (an unknown parameter, a library it lacks), with its reason. */
  refused: Array<{ setting: string; reason: string }>;
}

/** Put each stored `name=value` on `database` (through an admin session on the same server). */
export async function applyDatabaseSettings(admin: pg.ClientBase, database: string, settings: readonly string[]): Promise<AppliedSettings> {
  const result: AppliedSettings = { applied: [], refused: [] };
  for (const setting of settings) {
    try {
      await admin.query(alterDatabaseSetting(database, setting));
      result.applied.push(setting);
    } catch (error) {
      result.refused.push({ setting, reason: (error as Error).message });
    }
  }
  return result;
}

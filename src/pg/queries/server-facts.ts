/**
 * Facts about a running server that doctor and pull compare: its version and its extensions.
 */
import type pg from 'pg';

import { AVAILABLE_EXTENSIONS, DATABASE_LOCALE, DATABASE_SETTINGS, DATABASE_SETTINGS_OF, DATABASE_SIZE, INSTALLED_EXTENSIONS, SERVER_VERSION } from './server.js';
import { parseServerVersionNum, type PgVersion } from '../version.js';

/** An extension installed in a database. */
export interface InstalledExtension {
  name: string;
  version: string;
  schema: string;
}

/** An extension a server can install, with the versions it ships. */
export interface AvailableExtension {
  name: string;
  versions: string[];
}

/** The server's version, from server_version_num (exact) with the printed text for people. */
export async function readServerVersion(client: pg.ClientBase): Promise<PgVersion & { full: string }> {
  const { rows } = await client.query<{ num: string; text: string }>(SERVER_VERSION);
  const row = rows[0];
  if (!row) throw new Error('server returned no version');
  return { ...parseServerVersionNum(row.num), full: row.text };
}

/** Extensions installed in the connected database. */
export async function readInstalledExtensions(client: pg.ClientBase): Promise<InstalledExtension[]> {
  const { rows } = await client.query<InstalledExtension>(INSTALLED_EXTENSIONS);
  return rows;
}

/** Extensions the connected server can install. */
export async function readAvailableExtensions(client: pg.ClientBase): Promise<AvailableExtension[]> {
  const { rows } = await client.query<{ name: string; versions: string[] | string }>(AVAILABLE_EXTENSIONS);
  return rows.map((r) => ({ name: r.name, versions: Array.isArray(r.versions) ? r.versions : parsePgArray(r.versions) }));
}

/** pg returns text[] as an array, but name[]-ish aggregates can arrive as '{a,b}'. */
function parsePgArray(text: string): string[] {
  return text.replace(/^\{|\}$/g, '').split(',').filter(Boolean).map((s) => s.replace(/^"|"$/g, ''));
}

/** The connected database's size in bytes. */
export async function readDatabaseSize(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ bytes: string }>(DATABASE_SIZE);
  return Number(rows[0]?.bytes ?? 0);
}

/** The connected database's own settings (ALTER DATABASE … SET), as `name=value` strings; role-specific ones are left out. */
export async function readDatabaseSettings(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ setting: string }>(DATABASE_SETTINGS);
  return rows.map((r) => r.setting);
}

/** The database-level settings of the named database (`name=value`), for copying them onto another database. */
export async function readDatabaseSettingsOf(client: pg.ClientBase, database: string): Promise<string[]> {
  const { rows } = await client.query<{ setting: string }>(DATABASE_SETTINGS_OF, [database]);
  return rows.map((r) => r.setting);
}

/** A database's encoding and locale. */
export interface DatabaseLocale {
  encoding: string;
  collate: string;
  ctype: string;
  /** c (libc), i (ICU), b (builtin); undefined before PostgreSQL 15 (always libc). */
  provider: string | undefined;
}

/** The connected database's encoding and locale. */
export async function readDatabaseLocale(client: pg.ClientBase): Promise<DatabaseLocale> {
  const { rows } = await client.query<{ encoding: string; collate: string; ctype: string; provider: string | null }>(DATABASE_LOCALE);
  const row = rows[0]!;
  return { encoding: row.encoding, collate: row.collate, ctype: row.ctype, provider: row.provider ?? undefined };
}

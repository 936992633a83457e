/** Catalog SQL about a server as a whole: version and extensions. */

/** The server's version as a number (150020) and as text. */
export const SERVER_VERSION = `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text`;

/** Extensions installed in the current database, with their versions and schema. */
export const INSTALLED_EXTENSIONS = `
  SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
  ORDER BY e.extname`;

/** Extensions this server could install, with every version it ships. */
export const AVAILABLE_EXTENSIONS = `
  SELECT name, array_agg(version ORDER BY version) AS versions
  FROM pg_available_extension_versions
  GROUP BY name
  ORDER BY name`;

/** The size of the connected database, in bytes. */
export const DATABASE_SIZE = `SELECT pg_database_size(current_database()) AS bytes`;

/** The connected database's own settings (role 0: every role), one `name=value` per row. */
export const DATABASE_SETTINGS = `
  SELECT unnest(setconfig) AS setting FROM pg_catalog.pg_db_role_setting
  WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())`;

/** The same for a database named by $1. */
export const DATABASE_SETTINGS_OF = `
  SELECT unnest(setconfig) AS setting FROM pg_catalog.pg_db_role_setting
  WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = $1)`;

/** The connected database's encoding and libc locale (pg_database's columns as JSON: datlocprovider exists from 15 on). */
export const DATABASE_LOCALE = `
  SELECT pg_catalog.pg_encoding_to_char(d.encoding) AS encoding, d.datcollate AS collate, d.datctype AS ctype,
    to_jsonb(d) ->> 'datlocprovider' AS provider
  FROM pg_catalog.pg_database d WHERE d.datname = current_database()`;

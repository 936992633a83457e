/**
 * Concrete fix commands for Debian/Ubuntu and Homebrew (pure text).
 */
import { majorLabel } from '../pg/version.js';

/** One way to fix a problem on one platform. */
export interface Remedy {
  platform: 'Debian/Ubuntu' | 'Homebrew' | 'any';
  command: string;
}

/** PGDG's apt repository carries every supported major; distributions ship only one. */
const PGDG_SETUP = 'sudo apt-get install -y postgresql-common && sudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh';

/** Install client tools (pg_dump, pg_restore, psql) of a major. drydock finds side-by-side installs by itself. */
export function installClientTools(major: number): Remedy[] {
  const m = majorLabel(major);
  return [
    { platform: 'Debian/Ubuntu', command: `${PGDG_SETUP} && sudo apt-get install -y postgresql-client-${m}` },
    { platform: 'Homebrew', command: `brew install postgresql@${m}` },
  ];
}

/** Install and start a local server of a major, and point drydock at it. */
export function installServer(major: number): Remedy[] {
  const m = majorLabel(major);
  return [
    {
      platform: 'Debian/Ubuntu',
      command: `${PGDG_SETUP} && sudo apt-get install -y postgresql-${m} && sudo pg_ctlcluster ${m} main start  # a second cluster listens on the next free port (5433 …): export DRYDOCK_LOCAL_DATABASE_URL=postgres://localhost:5433/postgres`,
    },
    {
      platform: 'Homebrew',
      command: `brew install postgresql@${m} && brew services start postgresql@${m}  # stop the other major first, or run it on another port and set DRYDOCK_LOCAL_DATABASE_URL`,
    },
  ];
}

/** Put a side-by-side install first on PATH, for tools that take whatever is on PATH (heroku pg:pull). */
export function preferOnPath(dir: string): Remedy[] {
  return [{ platform: 'any', command: `export PATH="${dir}:$PATH"` }];
}

/** Packages that provide extensions outside contrib, per platform ({m} is the server major). */
const EXTENSION_PACKAGES: Record<string, { apt: string; brew: string }> = {
  postgis: { apt: 'postgresql-{m}-postgis-3', brew: 'postgis' },
  postgis_topology: { apt: 'postgresql-{m}-postgis-3', brew: 'postgis' },
  postgis_raster: { apt: 'postgresql-{m}-postgis-3', brew: 'postgis' },
  postgis_tiger_geocoder: { apt: 'postgresql-{m}-postgis-3', brew: 'postgis' },
  address_standardizer: { apt: 'postgresql-{m}-postgis-3', brew: 'postgis' },
  vector: { apt: 'postgresql-{m}-pgvector', brew: 'pgvector' },
  pgrouting: { apt: 'postgresql-{m}-pgrouting', brew: 'pgrouting' },
  pg_partman: { apt: 'postgresql-{m}-partman', brew: 'pg_partman' },
  hypopg: { apt: 'postgresql-{m}-hypopg', brew: 'hypopg' },
  pg_repack: { apt: 'postgresql-{m}-repack', brew: 'pg_repack' },
  pgaudit: { apt: 'postgresql-{m}-pgaudit', brew: 'pgaudit' },
  pg_cron: { apt: 'postgresql-{m}-cron', brew: 'pg_cron' },
  plv8: { apt: 'postgresql-{m}-plv8', brew: 'plv8' },
  orafce: { apt: 'postgresql-{m}-orafce', brew: 'orafce' },
  pg_hint_plan: { apt: 'postgresql-{m}-pg-hint-plan', brew: 'pg_hint_plan' },
  timescaledb: { apt: 'timescaledb-2-postgresql-{m}', brew: 'timescaledb' },
  h3: { apt: 'postgresql-{m}-h3', brew: 'h3-pg' },
  ip4r: { apt: 'postgresql-{m}-ip4r', brew: 'ip4r' },
  prefix: { apt: 'postgresql-{m}-prefix', brew: 'prefix' },
  rum: { apt: 'postgresql-{m}-rum', brew: 'rum' },
  semver: { apt: 'postgresql-{m}-semver', brew: 'pg-semver' },
  unit: { apt: 'postgresql-{m}-unit', brew: 'postgresql-unit' },
};

/** Extensions shipped in contrib: part of the server package on Debian (since 10) and Homebrew. */
const CONTRIB = new Set([
  'adminpack', 'amcheck', 'autoinc', 'bloom', 'btree_gin', 'btree_gist', 'citext', 'cube', 'dblink', 'dict_int',
  'dict_xsyn', 'earthdistance', 'file_fdw', 'fuzzystrmatch', 'hstore', 'insert_username', 'intagg', 'intarray',
  'isn', 'lo', 'ltree', 'moddatetime', 'old_snapshot', 'pageinspect', 'pg_buffercache', 'pg_freespacemap',
  'pg_prewarm', 'pg_stat_statements', 'pg_surgery', 'pg_trgm', 'pg_visibility', 'pg_walinspect', 'pgcrypto',
  'pgrowlocks', 'pgstattuple', 'postgres_fdw', 'refint', 'seg', 'sslinfo', 'tablefunc', 'tcn', 'tsm_system_rows',
  'tsm_system_time', 'unaccent', 'uuid-ossp', 'xml2', 'plpgsql',
]);

/** How to make an extension available to a local server of `major`. */
export function installExtension(name: string, major: number): Remedy[] {
  const m = majorLabel(major);
  if (CONTRIB.has(name)) {
    return [
      { platform: 'Debian/Ubuntu', command: `sudo apt-get install -y postgresql-${m}  # ${name} is in contrib, shipped with the server package` },
      { platform: 'Homebrew', command: `brew reinstall postgresql@${m}  # ${name} is in contrib, shipped with the server` },
    ];
  }
  const pkg = EXTENSION_PACKAGES[name];
  if (pkg) {
    return [
      { platform: 'Debian/Ubuntu', command: `sudo apt-get install -y ${pkg.apt.replace('{m}', m)}` },
      { platform: 'Homebrew', command: `brew install ${pkg.brew}` },
    ];
  }
  return [
    { platform: 'Debian/Ubuntu', command: `apt-cache search ${name} | grep postgresql-${m}  # then sudo apt-get install -y <package>` },
    { platform: 'Homebrew', command: `brew search ${name}` },
  ];
}

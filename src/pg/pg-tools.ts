/**
 * PgTools: pg_dump, pg_restore and psql behind one method per intent.
 *
 * - The binary is picked for the server's major (pg_dump refuses servers newer than itself, and a
 *   psql of the server's major understands everything a dump of that major contains).
 * - Every run goes through exec.run with the connection in PG* variables from toPgEnv: the password
 *   and the database name never appear in argv.
 * - Every run has an explicit timeout.
 *
 * Later jobs (pull, restore) add methods here (`dump({ url, file })`, `restore(…)`) on the same
 * `tool()` and `pgEnv()` helpers.
 */
import type { Readable } from 'node:stream';

import { ToolError } from '../errors.js';
import { run, type RunResult } from '../exec.js';
import { withClient } from './client.js';
import { parseQualifiedName, quoteQualified } from './ident.js';
import { readServerVersion } from './queries/server-facts.js';
import { pickTool, type ClientTool, type DiscoverOptions, type ToolName, type ToolWant } from './tools.js';
import { describeDb, toPgEnv, type DbUrl } from './url.js';
import { majorLabel } from './version.js';
import type { Environment } from '../settings.js';

/** Default time limits, in milliseconds. */
export const PG_TOOL_TIMEOUTS = {
  /** A schema-only dump reads the catalog only. */
  dumpSchema: 5 * 60_000,
  /** Running a SQL file (loading a schema, seeds). */
  psqlFile: 30 * 60_000,
  /** One short SQL command. */
  psqlCommand: 2 * 60_000,
  /** A whole restore or archive scan. */
  restore: 6 * 60 * 60_000,
} as const;

/** The oldest psql drydock runs at all (9.2 encoded as a two-part major). */
const OLDEST_PSQL_MAJOR = 92;

/** Options shared by every PgTools method. */
export interface PgToolRunOptions {
  /** The server's major, when the caller knows it already (skips a connection to ask). */
  serverMajor?: number | undefined;
  /** Kill the tool after this many milliseconds (defaults in PG_TOOL_TIMEOUTS). */
  timeoutMs?: number | undefined;
}

/** Options of `psqlFile`. */
export interface PsqlFileOptions extends PgToolRunOptions {
  /** Run the whole file in one transaction (psql -1): any error rolls everything back. */
  singleTransaction?: boolean | undefined;
  /**
   * Refuse every psql meta-command in the file (a `\restrict KEY` with a fresh random key before it, as
   * pg_dump writes into its own output), so a dump from a hostile server cannot run `\!` or `\o` here.
   * Only with a psql that knows \restrict (13.22, 14.19, 15.14, 16.10, 17.6, 18 and later).
   */
  restrict?: boolean | undefined;
}

/** The first minor of each major whose psql knows \restrict (August 2025 releases). */
const RESTRICT_SINCE: Readonly<Record<number, number>> = { 13: 22, 14: 19, 15: 14, 16: 10, 17: 6 };

/** Whether a psql of this version takes \restrict. */
export function psqlKnowsRestrict(version: { major: number; minor: number }): boolean {
  if (version.major >= 18 && version.major < 60) return true;
  const since = RESTRICT_SINCE[version.major];
  return since !== undefined && version.minor >= since;
}

/** Options of `psqlCommand`. */
export interface PsqlCommandOptions extends PgToolRunOptions {
  /** Run the SQL in one transaction (psql -1). */
  singleTransaction?: boolean | undefined;
}

/** How PgTools finds binaries and builds child environments. */
export interface PgToolsOptions {
  /** Finds the installed client tools (pg/tools.discoverTools in production, a fake in unit tests). */
  discoverTools: (options?: DiscoverOptions) => Promise<ClientTool[]>;
  /** A directory searched first (PG_BIN). */
  pgBin?: string | undefined;
  /** The environment tools are discovered in (PATH, HOMEBREW_PREFIX; from settings). */
  env?: Environment | undefined;
  /** Stops a running tool when it aborts (Deps.signal). */
  signal?: AbortSignal | undefined;
}

/**
 * Session settings for bulk loads (pg_restore, COPY): skip waiting for WAL flushes (a crash mid-restore
 * only loses the scratch copy, which is thrown away anyway) and give index builds more memory.
 */
export const BULK_LOAD_OPTIONS = '-c synchronous_commit=off -c maintenance_work_mem=512MB -c work_mem=64MB';

/** A section of an archive (pg_restore --section). */
export type ArchiveSection = 'pre-data' | 'data' | 'post-data';

/** A table's exact row count in an archive. */
export interface TableRowCount {
  schema: string;
  name: string;
  rows: number;
}

/**
 * The table of a `COPY schema.name (cols) FROM stdin;` line of pg_restore's SQL, identifiers unquoted
 * (pg_dump quotes a name with spaces, dots, quotes or capitals: `COPY app."order items" …`). Pure.
 */
export function copyTarget(line: string): { schema: string; name: string } | undefined {
  if (!line.startsWith('COPY ') || !line.endsWith(' FROM stdin;')) return undefined;
  const parsed = parseQualifiedName(line, 5);
  if (!parsed || !/^ (\(| FROM stdin;$|FROM stdin;$)/.test(line.slice(parsed.end))) return parsed && line.slice(parsed.end).startsWith(' ') ? { schema: parsed.schema, name: parsed.name } : undefined;
  return { schema: parsed.schema, name: parsed.name };
}

/** pg_dump, pg_restore and psql, one method per intent. */
export class PgTools {
  private readonly options: PgToolsOptions;
  private discovered: Promise<ClientTool[]> | undefined;
  private readonly majors = new Map<string, Promise<number>>();

  constructor(options: PgToolsOptions) {
    this.options = options;
  }

  /** The server's major version, asked over a connection once per URL. */
  serverMajor(url: DbUrl): Promise<number> {
    let major = this.majors.get(url.href);
    if (!major) {
      major = withClient(url, async (client) => (await readServerVersion(client)).major);
      major.catch(() => this.majors.delete(url.href));
      this.majors.set(url.href, major);
    }
    return major;
  }

  /**
   * The installed `name` to use against a server of `serverMajor`: pg_dump and pg_restore of that major,
   * else the closest newer one; psql likewise, else any. Throws ToolError with a remedy when none fits.
   */
  async tool(name: ToolName, serverMajor: number): Promise<ClientTool> {
    const tools = await this.installed();
    const wants: ToolWant[] = [{ minMajor: serverMajor, preferMajor: serverMajor }];
    if (name === 'psql') wants.push({ minMajor: OLDEST_PSQL_MAJOR });
    for (const want of wants) {
      const tool = pickTool(tools, name, want);
      if (tool) return tool;
    }
    const found = tools.filter((t) => t.name === name).map((t) => t.version.text);
    const m = majorLabel(serverMajor);
    throw new ToolError(
      `no ${name} fits PostgreSQL ${m}: ${found.length ? `found ${name} ${[...new Set(found)].join(', ')}, all older` : `${name} is not installed`}`,
      { command: name },
      { hint: `install PostgreSQL ${m} client tools (run drydock doctor for the command for this machine), or set PG_BIN to their directory` },
    );
  }

  /** The schema of the database as SQL (pg_dump --schema-only), raw: see schema/normalize.ts for the stable form. */
  async dumpSchema(url: DbUrl, options: PgToolRunOptions & { lockWaitTimeoutMs?: number | undefined } = {}): Promise<string> {
    const tool = await this.tool('pg_dump', options.serverMajor ?? (await this.serverMajor(url)));
    // --no-owner/--no-privileges: roles differ between Heroku, review apps and laptops.
    // --no-tablespaces: Heroku has none. --no-subscriptions: loading one would connect to another server.
    // Comments on objects are kept: they document the schema.
    const args = ['--schema-only', '--no-owner', '--no-privileges', '--no-tablespaces', '--no-subscriptions', '--encoding=UTF8'];
    // pg_dump takes ACCESS SHARE on every table: a lock held elsewhere fails the dump after this long instead of hanging it.
    if (options.lockWaitTimeoutMs !== undefined) args.push(`--lock-wait-timeout=${options.lockWaitTimeoutMs}ms`);
    const result = await this.run(tool, url, args, {
      timeoutMs: options.timeoutMs ?? PG_TOOL_TIMEOUTS.dumpSchema,
      what: `dumping the schema of ${describeDb(url)}`,
    });
    return result.stdout;
  }

  /** Run a SQL file with psql, stopping at the first error (psql -X -q -v ON_ERROR_STOP=1 [-1] -f FILE). */
  async psqlFile(url: DbUrl, file: string, options: PsqlFileOptions = {}): Promise<RunResult> {
    const tool = await this.tool('psql', options.serverMajor ?? (await this.serverMajor(url)));
    // psql runs -c and -f in order in one session: the key is fresh, so the file cannot lift the restriction.
    // node:crypto is imported here, not at the top: every command loads this module, and most never need it.
    const key = options.restrict && psqlKnowsRestrict(tool.version) ? (await import('node:crypto')).randomBytes(24).toString('hex') : undefined;
    const body = key ? ['-c', `\\restrict ${key}`, '-f', file, '-c', `\\unrestrict ${key}`] : ['-f', file];
    const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...(options.singleTransaction ? ['-1'] : []), ...body];
    return this.run(tool, url, args, {
      timeoutMs: options.timeoutMs ?? PG_TOOL_TIMEOUTS.psqlFile,
      what: `running ${file} on ${describeDb(url)}`,
      ...(options.singleTransaction ? { hint: 'nothing was changed: the file ran in one transaction; fix the statement shown and run it again' } : {}),
    });
  }

  /**
   * Run SQL with psql and return its unaligned, tuples-only output (psql -X -q -At -v ON_ERROR_STOP=1).
   * The SQL goes through stdin, not argv.
   */
  async psqlCommand(url: DbUrl, sql: string, options: PsqlCommandOptions = {}): Promise<string> {
    const tool = await this.tool('psql', options.serverMajor ?? (await this.serverMajor(url)));
    const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', ...(options.singleTransaction ? ['-1'] : []), '-f', '-'];
    const result = await this.run(tool, url, args, {
      timeoutMs: options.timeoutMs ?? PG_TOOL_TIMEOUTS.psqlCommand,
      input: sql,
      what: `running SQL on ${describeDb(url)}`,
    });
    return result.stdout;
  }

  /**
   * A schema-only custom-format archive (pg_dump -Fc --schema-only) of `url` into `file`, optionally inside
   * an exported snapshot so it matches data copied by other sessions. Schemas in `excludeSchemas` (Heroku's
   * `_heroku`) are left out. Returns the pg_dump used.
   */
  async dumpSchemaArchive(url: DbUrl, file: string, options: PgToolRunOptions & { snapshot?: string; excludeSchemas?: string[] } = {}): Promise<ClientTool> {
    const tool = await this.tool('pg_dump', options.serverMajor ?? (await this.serverMajor(url)));
    // Every section but data: the schema, and with post-data the refresh of populated materialized views
    // (--schema-only would leave them out, and they would arrive unpopulated).
    const args = ['--format=custom', '--section=pre-data', '--section=post-data', '--no-owner', '--no-privileges', '--no-subscriptions', '--file', file];
    if (options.snapshot) args.push(`--snapshot=${options.snapshot}`);
    for (const schema of options.excludeSchemas ?? []) args.push(`--exclude-schema=${schema}`);
    await this.run(tool, url, args, { timeoutMs: options.timeoutMs ?? PG_TOOL_TIMEOUTS.dumpSchema, what: `dumping the schema of ${describeDb(url)}` });
    return tool;
  }

  /**
   * pg_restore an archive (custom format file or directory) into `url`: --no-owner --no-acl, parallel with
   * `jobs`, one `section` or all. Session settings that speed a bulk load travel in PGOPTIONS.
   * Errors are fatal (--exit-on-error) unless `tolerateErrors`.
   */
  async restoreArchive(
    url: DbUrl,
    /** The archive file, or a stream of it (read sequentially, as `pg_dump -Fc | pg_restore` does: no --jobs). */
    archive: string | Readable,
    options: PgToolRunOptions & {
      archiveMajor: number;
      jobs?: number;
      /** One section, or several (pg_restore --section for each). */
      section?: ArchiveSection | ArchiveSection[];
      /** A filtered table of contents (pg_restore -L). */
      useList?: string;
      tolerateErrors?: boolean;
      /** All or nothing (pg_restore --single-transaction). */
      singleTransaction?: boolean;
      /** Stops this run (beside Deps.signal, which stops every tool). */
      signal?: AbortSignal;
      /** More session settings (`-c name=value …`), after the bulk-load ones. */
      pgOptions?: string;
      onStderrLine?: (line: string) => void;
    },
  ): Promise<RunResult> {
    const tool = await this.tool('pg_restore', options.archiveMajor);
    const args = ['--no-owner', '--no-acl', '--dbname', url.database ?? 'postgres'];
    if (options.jobs && options.jobs > 1) args.push(`--jobs=${options.jobs}`);
    for (const section of [options.section ?? []].flat()) args.push(`--section=${section}`);
    if (options.useList) args.push(`--use-list=${options.useList}`);
    if (!options.tolerateErrors) args.push('--exit-on-error');
    if (options.singleTransaction) args.push('--single-transaction');
    if (options.onStderrLine) args.push('--verbose');
    if (typeof archive === 'string') args.push(archive);
    else if (options.jobs && options.jobs > 1) throw new Error('pg_restore --jobs needs an archive file, not a stream');
    try {
      return await run(tool.path, args, {
        ...(typeof archive === 'string' ? {} : { input: archive }),
        env: { ...this.pgEnv(url), PGOPTIONS: options.pgOptions ? `${BULK_LOAD_OPTIONS} ${options.pgOptions}` : BULK_LOAD_OPTIONS },
        timeoutMs: options.timeoutMs ?? PG_TOOL_TIMEOUTS.restore,
        signal: options.signal && this.options.signal ? AbortSignal.any([options.signal, this.options.signal]) : (options.signal ?? this.options.signal),
        label: `${tool.name} ${tool.version.text}`,
        ...(options.onStderrLine ? { onStderrLine: options.onStderrLine } : {}),
      });
    } catch (error) {
      if (!(error instanceof ToolError)) throw error;
      throw new ToolError(
        `restoring into ${describeDb(url)} failed: ${error.message}`,
        { command: error.command, toolExitCode: error.toolExitCode, stderrTail: error.stderrTail },
        { hint: error.hint ?? hintFor(error.stderrTail) ?? 'the scratch copy is discarded; the working database was not touched', cause: error },
      );
    }
  }

  /** The table of contents of an archive (pg_restore --list): also proves the file is a readable, complete archive header. */
  async listArchive(archive: string, archiveMajor: number, options: { section?: ArchiveSection | ArchiveSection[]; dependencies?: boolean } = {}): Promise<string> {
    const tool = await this.tool('pg_restore', archiveMajor);
    // With --section, only the entries a restore of those sections would run; with --verbose, each
    // entry is followed by a `;\tdepends on: N …` line.
    const sections = [options.section ?? []].flat().map((section) => `--section=${section}`);
    const result = await run(tool.path, ['--list', ...sections, ...(options.dependencies ? ['--verbose'] : []), archive], { timeoutMs: PG_TOOL_TIMEOUTS.psqlCommand, signal: this.options.signal, label: `${tool.name} ${tool.version.text}` });
    return result.stdout;
  }

  /**
   * The SQL of the archive entries listed in `useList`, as pg_restore would run it (pg_restore --verbose
   * -L LIST -f -): every entry is preceded by a `-- TOC entry N (class C OID O)` header. Nothing is loaded.
   */
  async archiveSql(archive: string, options: { archiveMajor: number; useList: string }): Promise<string> {
    const tool = await this.tool('pg_restore', options.archiveMajor);
    const result = await run(tool.path, ['--verbose', `--use-list=${options.useList}`, '--file=-', archive], {
      timeoutMs: PG_TOOL_TIMEOUTS.psqlCommand,
      signal: this.options.signal,
      label: `${tool.name} ${tool.version.text}`,
    });
    return result.stdout;
  }

  /**
   * Exact row counts per table in an archive, by streaming its data section as SQL (pg_restore --data-only -f -)
   * and counting COPY rows, without loading anything. Reads (and decompresses) the whole archive.
   */
  async archiveRowCounts(archive: string, archiveMajor: number): Promise<Map<string, TableRowCount>> {
    const tool = await this.tool('pg_restore', archiveMajor);
    const counts = new Map<string, TableRowCount>();
    let current: TableRowCount | undefined;
    await run(tool.path, ['--data-only', '--file=-', archive], {
      timeoutMs: PG_TOOL_TIMEOUTS.restore,
      signal: this.options.signal,
      label: `${tool.name} ${tool.version.text}`,
      discardStdout: true,
      rawStdoutLines: true,
      onStdoutLine: (line) => {
        if (current !== undefined) {
          if (line === '\\.') current = undefined;
          else current.rows += 1;
          return;
        }
        const table = copyTarget(line);
        if (table) {
          const key = quoteQualified(table.schema, table.name);
          current = counts.get(key) ?? { ...table, rows: 0 };
          counts.set(key, current);
        }
      },
    });
    return counts;
  }

  /** libpq variables for `url`: host, port, user, password, database and sslmode never go in argv. */
  pgEnv(url: DbUrl): Record<string, string | undefined> {
    return toPgEnv(url);
  }

  /** Every installed client tool, discovered once. */
  installed(): Promise<ClientTool[]> {
    this.discovered ??= this.options.discoverTools({ ...(this.options.env ? { env: this.options.env } : {}), ...(this.options.pgBin ? { pgBin: this.options.pgBin } : {}) });
    return this.discovered;
  }

  /** Run a tool against `url`; a failure says what drydock was doing and which binary failed. */
  private async run(
    tool: ClientTool,
    url: DbUrl,
    args: string[],
    options: { timeoutMs: number; what: string; input?: string; hint?: string },
  ): Promise<RunResult> {
    try {
      return await run(tool.path, args, {
        env: this.pgEnv(url),
        timeoutMs: options.timeoutMs,
        signal: this.options.signal,
        label: `${tool.name} ${tool.version.text}`,
        ...(options.input !== undefined ? { input: options.input } : {}),
      });
    } catch (error) {
      if (!(error instanceof ToolError)) throw error;
      throw new ToolError(
        `${options.what} failed: ${error.message}`,
        { command: error.command, toolExitCode: error.toolExitCode, stderrTail: error.stderrTail },
        { hint: error.hint ?? hintFor(error.stderrTail) ?? options.hint, cause: error },
      );
    }
  }
}

/** A hint for the usual ways pg_dump and psql fail. */
function hintFor(stderr: string): string | undefined {
  if (/server version mismatch|aborting because of server version mismatch/i.test(stderr)) {
    return 'the client tools are older than the server: run drydock doctor';
  }
  if (/password authentication failed|no password supplied/i.test(stderr)) {
    return 'check the user and password in the URL (credentials may have been rotated)';
  }
  if (/could not connect|Connection refused|could not translate host name/i.test(stderr)) {
    return 'check the URL and that the server accepts connections from this machine';
  }
  if (/does not exist/i.test(stderr) && /database/i.test(stderr)) return 'create the database first, or check its name in the URL';
  return undefined;
}

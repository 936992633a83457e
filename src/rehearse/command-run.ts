/**
 * `drydock rehearse --command CMD [--rollback-command CMD]`: rehearse another framework's migrations
 * (`npx knex migrate:latest`, `bin/rails db:migrate`, `python manage.py migrate` …). drydock cannot
 * see inside the command, so the command talks to the copy through drydock's protocol proxy
 * (rehearse/proxy.ts), which records every statement, while the same watch as for drydock's runner
 * (rehearse/watch.ts) polls the sessions' locks and probes the tables the statements name. Then:
 *
 * 1. the recording is split into the framework's migrations at its ledger rows (rehearse/framework.ts,
 *    rehearse/command-report.ts) and each gets its measurements, lint findings (warn mode, against the
 *    copy's catalog) and verdict, as drydock's own migrations do;
 * 2. with a rollback command: it runs (through the proxy, again while its ledger rows show it rolled
 *    back fewer migrations than the command applied: a one-step `bin/rails db:rollback`), the schema
 *    must equal the schema before the command; the command runs again and the schema must equal the
 *    first result. Without one, reversibility is not checked.
 *
 * Interrupted (Ctrl-C, SIGTERM): the command's whole process group is stopped, the proxy closed and
 * the command's sessions still on the copy ended.
 */
import type pg from 'pg';

import type { Deps } from '../deps.js';
import { ToolError } from '../errors.js';
import { tail, run } from '../exec.js';
import { formatDuration } from '../format.js';
import { connect, withClient } from '../pg/client.js';
import { readInvalidIndexDetails } from '../pg/queries/indexes.js';
import { readLintSchema } from '../pg/queries/lint-schema.js';
import { readNotValidConstraints, readRelations, readRelationSizes, readWalLsn, type RelationFact } from '../pg/queries/rehearse.js';
import { readLockTimeout, terminateBackends } from '../pg/queries/rehearse-command.js';
import { readServerVersion } from '../pg/queries/server-facts.js';
import { describeDb, type DbUrl } from '../pg/url.js';
import { majorOrder } from '../pg/version.js';
import { mask } from '../redact.js';
import { dumpSchema } from '../schema/dump.js';
import { objectDiff } from '../schema/objects.js';
import type { MigrateSettings } from '../settings.js';
import { ensureParser } from '../sql/parse.js';
import { commandMigrations, splitByLedger, type CommandWrite } from './command-report.js';
import { isBookkeepingObject, isBookkeepingTable, ledgerMark, ledgerRemovals, parserSplitter, statementRole } from './framework.js';
import { WireProxy } from './proxy.js';
import { KIND_NAMES, namedRelations } from './recorder.js';
import { migrationReport, type CommandRunInfo, type MigrationReport, type RehearsalReport, type ReversibilityProblem } from './report.js';
import { MigrationWatch, type WatchOptions } from './watch.js';
import { markWithoutData, notRepresentativeNote, type CopyTables } from './without-data.js';
import type { RecordedConnection, RecordedStatement, RecordedTransaction, SqlSplitter, WireRecording } from './wire-session.js';

/** How to rehearse a framework's command. */
export interface CommandRehearsalOptions {
  command: string;
  rollbackCommand?: string | undefined;
  blockThresholdMs: number;
  watch?: WatchOptions | undefined;
  /** The copy's tables, and those pulled without their rows (their timings are not representative). */
  copyTables?: CopyTables | undefined;
}

/** What the rehearsal of a command found (the pipeline adds the copy and the fresh-database check). */
export type CommandRehearsal = Pick<RehearsalReport, 'migrations' | 'notRun' | 'reversible'> & { command: CommandRunInfo };

/** The note when no rollback command was given. */
export const REVERSIBILITY_NOT_CHECKED = 'no --rollback-command (drydock.json rollbackCommand) was given, so the rollback was not rehearsed';

/** freshDatabase.note with --command. */
export const FRESH_WITH_COMMAND_NOT_DONE = "not checked: with --command, building a fresh database (the framework's command on an empty database) is not part of drydock rehearse yet";

/** A framework's command may run long; release gives it an hour, so does rehearse. */
const COMMAND_TIMEOUT_MS = 60 * 60_000;

/** Rehearse `options.command` on the copy at `url`. */
export async function rehearseCommand(deps: Deps, settings: MigrateSettings, options: CommandRehearsalOptions, url: DbUrl): Promise<CommandRehearsal> {
  const split = await parserSplitter();
  const before = await withClient(url, async (client) => ({
    relations: withoutBookkeeping(await readRelations(client)),
    invalid: new Set((await readInvalidIndexDetails(client)).map((x) => x.index)),
    notValid: new Set(await readNotValidConstraints(client)),
    catalog: withUnsized(await readLintSchema(client), options.copyTables?.withoutData),
    major: (await readServerVersion(client)).major,
    lockTimeout: await readLockTimeout(client),
  }));
  const schemaBefore = options.rollbackCommand ? await dumpSchema(deps.pgTools, url) : undefined;

  deps.output.info(`rehearse: running the migration command through drydock's proxy to ${describeDb(url)}: ${options.command}`);
  const watch = await MigrationWatch.start(url, before.relations, options.watch);
  let meter: WalMeter | undefined;
  let first: CommandRun | undefined;
  let failure: unknown;
  try {
    meter = await WalMeter.start(url);
    const wal = meter;
    first = await runThroughProxy(deps, url, options.command, 'migration command', split, {
      now: () => watch.now(),
      onBackend: (pid) => watch.watchBackend(pid),
      // Hold each statement of the migrations until the probes of the tables it names are connected
      // and the WAL position before it is read: its waits and its WAL are measured from its start.
      beforeStatements: (statements, connection) => {
        const work = statements.filter((s) => statementRole(s) === 'migration');
        if (!work.length) return undefined;
        const oids = work.flatMap((s) => namedRelations(s.node, before.relations));
        return Promise.all([watch.probeTables(oids), wal.sample(connection, watch.now())]).then(() => undefined);
      },
      onStatement: (s) => {
        if (statementRole(s) === 'migration') void wal.sample(s.connection, s.endMs);
      },
    });
  } catch (error) {
    failure = error;
  }
  const seen = await watch.stop().catch((error: unknown) => {
    failure ??= error;
    return undefined;
  });
  if (failure !== undefined || !first || !seen || !meter) {
    await meter?.end();
    throw failure;
  }
  if (first.exitCode !== 0 && !first.recording.statements.length) {
    await meter.end();
    // Nothing reached the database: the command itself is broken here (not found, a config error), not a migration.
    throw new ToolError(`the migration command failed (exit ${first.exitCode}) before it ran any SQL${first.outputTail ? `: ${first.outputTail}` : ''}`, { command: mask(options.command), toolExitCode: first.exitCode, stderrTail: first.outputTail }, {
      hint: "run it by hand to see why; drydock runs it with `sh -c` in this folder, with DATABASE_URL, PGHOST and PGPORT pointing at its proxy to the copy",
    });
  }
  const walBytes = await meter.bytesOf(first.recording.statements);
  await meter.end();

  const statements = first.recording.ordered();
  const after = await withClient(url, async (client) => {
    const now = withoutBookkeeping(await readRelations(client));
    const rewritten = [...now.values()].filter((r) => before.relations.get(r.oid) && before.relations.get(r.oid)!.fileNode !== r.fileNode);
    const built = [...now.values()].filter((r) => (r.kind === 'i' || r.kind === 'I') && !before.relations.has(r.oid));
    const sizes = await readRelationSizes(client, [...rewritten, ...built].map((r) => r.oid));
    const write = (r: RelationFact, isRewrite: boolean): CommandWrite => ({ relation: r.name, relname: r.relname, kind: KIND_NAMES[r.kind] ?? r.kind, bytes: sizes.get(r.oid) ?? 0, rewritten: isRewrite });
    return {
      writes: [...rewritten.map((r) => write(r, true)), ...built.map((r) => write(r, false))],
      invalidIndexes: (await readInvalidIndexDetails(client)).filter((x) => !before.invalid.has(x.index)).map((x) => ({ label: `${x.index} on ${x.table}`, name: unquotedLast(x.index) })),
      notValidConstraints: (await readNotValidConstraints(client)).filter((c) => !before.notValid.has(c)).map((label) => ({ label, name: unquotedLast(label) })),
    };
  });
  const findings = await lintRecorded(statements, first.recording.connections, { catalog: before.catalog, pgVersion: majorOrder(before.major), lockTimeout: before.lockTimeout, settings });

  const measured = commandMigrations({
    command: options.command,
    statements,
    transactions: first.recording.transactions,
    watch: seen,
    existing: before.relations,
    walBytes,
    writes: after.writes,
    findings,
    leftBehind: { invalidIndexes: after.invalidIndexes, notValidConstraints: after.notValidConstraints },
    failed: first.exitCode === 0 ? undefined : { exitCode: first.exitCode, output: first.outputTail },
  });
  const migrations: MigrationReport[] = measured.map((m) => {
    const report = migrationReport(m, options.blockThresholdMs);
    return options.copyTables ? markWithoutData(report, m.watch.waits, options.copyTables, options.blockThresholdMs) : report;
  });
  for (const m of migrations) {
    deps.output.info(`rehearse: ${m.verdict}: ${m.file}: ${m.reason}`);
    for (const t of m.notRepresentative ?? []) deps.output.warn(`rehearse: ${m.file}: ${notRepresentativeNote(t)}`);
  }

  const applied = committedMarks(statements, first.recording.transactions);
  const reversible = options.rollbackCommand
    ? await checkCommandReversible(deps, url, split, { ...options, rollbackCommand: options.rollbackCommand }, { schemaBefore: schemaBefore!, applied, firstFailed: first.exitCode !== 0 })
    : { ok: null, checked: [], skipped: [], problems: [], note: REVERSIBILITY_NOT_CHECKED };
  const { segments } = splitByLedger(statements);
  return {
    migrations,
    notRun: [],
    reversible,
    command: {
      command: options.command,
      rollbackCommand: options.rollbackCommand,
      exitCode: first.exitCode,
      framework: segments.find((s) => s.ledger)?.ledger?.framework,
      connections: first.recording.connections.length,
      statements: statements.length,
      bookkeeping: statements.filter((s) => statementRole(s) !== 'migration').length,
      problems: first.problems,
    },
  };
}

/** Tables pulled without their rows are of unknown size to lint (bytes -1), as the runner's lint has them: a finding there keeps its severity. */
function withUnsized(catalog: Awaited<ReturnType<typeof readLintSchema>>, unsized: ReadonlySet<string> | undefined): Awaited<ReturnType<typeof readLintSchema>> {
  if (!unsized?.size) return catalog;
  return { ...catalog, tables: catalog.tables.map((t) => (unsized.has(`${t.schema}.${t.name}`) ? { ...t, rows: -1, bytes: -1 } : t)) };
}

/** Relations of the app: the frameworks' ledger and lock tables and their indexes left out. */
function withoutBookkeeping(relations: ReadonlyMap<number, RelationFact>): Map<number, RelationFact> {
  const own = (r: RelationFact): boolean => !isBookkeepingTable(r.relname) && !(r.kind === 'i' && [...relations.values()].some((t) => isBookkeepingTable(t.relname) && r.relname.startsWith(`${t.relname}_`)));
  return new Map([...relations].filter(([, r]) => own(r)));
}

/** The last name of "schema.name" or "schema.table name", unquoted. */
function unquotedLast(label: string): string {
  return (label.split(/[\s.]/).at(-1) ?? label).replace(/^"|"$/g, '').replace(/""/g, '"');
}

/** The migrations whose ledger rows were committed (a rolled-back batch applied none), newest first. */
function committedMarks(statements: readonly RecordedStatement[], transactions: readonly RecordedTransaction[]): string[] {
  const committed = (s: RecordedStatement): boolean => !s.error && (s.transaction === undefined || transactions[s.transaction]?.outcome === 'commit');
  return statements
    .filter(committed)
    .flatMap((s) => {
      const mark = ledgerMark(s);
      return mark && mark.ledger.at === 'end' ? (mark.names.length ? mark.names : [`${mark.ledger.framework} migration`]) : [];
    })
    .reverse();
}

/** One run of a command through a proxy. */
interface CommandRun {
  exitCode: number;
  /** The last lines of its output (masked). */
  outputTail: string;
  recording: WireRecording;
  problems: string[];
}

interface ProxyHooks {
  now?: () => number;
  onBackend?: (pid: number) => void;
  beforeStatements?: Parameters<typeof WireProxy.start>[0]['beforeStatements'];
  onStatement?: (statement: RecordedStatement) => void;
}

/** The environment that points a framework at the proxy: DATABASE_URL and libpq's PG* variables. */
function proxyEnvironment(url: DbUrl, port: number): Record<string, string | undefined> {
  const env = url.libpq ?? {};
  const user = url.user ?? env.PGUSER ?? env.USER ?? 'postgres';
  const password = url.password ?? (url.user ? undefined : env.PGPASSWORD);
  const database = url.database ?? env.PGDATABASE ?? user;
  const auth = `${encodeURIComponent(user)}${password === undefined ? '' : `:${encodeURIComponent(password)}`}`;
  return {
    DATABASE_URL: `postgres://${auth}@127.0.0.1:${port}/${encodeURIComponent(database)}?sslmode=disable`,
    PGHOST: '127.0.0.1',
    PGPORT: String(port),
    PGUSER: user,
    PGDATABASE: database,
    PGPASSWORD: password,
    // The proxy speaks plain TCP (the copy is on this machine); an app's PGSSLMODE=require would refuse it.
    PGSSLMODE: 'disable',
  };
}

/** Run `command` with DATABASE_URL pointing at a new proxy to `url`; close the proxy and end the sessions it left. */
async function runThroughProxy(deps: Deps, url: DbUrl, command: string, label: string, split: SqlSplitter, hooks: ProxyHooks = {}): Promise<CommandRun> {
  const env = url.libpq ?? {};
  const host = url.host ?? env.PGHOST ?? 'localhost';
  const port = url.port ?? (env.PGPORT ? Number(env.PGPORT) : 5432);
  const started = performance.now();
  const proxy = await WireProxy.start({
    upstream: host.startsWith('/') ? { path: `${host}/.s.PGSQL.${port}` } : { host, port },
    now: hooks.now ?? (() => performance.now() - started),
    split,
    beforeStatements: hooks.beforeStatements,
    onBackend: hooks.onBackend ? (pid) => hooks.onBackend!(pid) : undefined,
  });
  proxy.recording.onStatement = hooks.onStatement;
  try {
    const result = await run('sh', ['-c', command], {
      inheritEnv: true,
      env: proxyEnvironment(url, proxy.port),
      timeoutMs: COMMAND_TIMEOUT_MS,
      reject: false,
      label,
      onStdoutLine: (line) => deps.output.info(`${label}: ${line}`),
      onStderrLine: (line) => deps.output.info(`${label}: ${line}`),
      signal: deps.signal,
      processGroup: true,
    });
    const outputTail = lastLines(result.stderr) || lastLines(result.stdout);
    deps.output.info(`rehearse: the ${label} ${result.exitCode === 0 ? 'finished' : `failed (exit ${result.exitCode})`} after ${formatDuration(performance.now() - started)}`);
    return { exitCode: result.exitCode, outputTail, recording: proxy.recording, problems: proxy.problems };
  } finally {
    await proxy.close();
    await endSessions(url, proxy.recording.connections);
  }
}

/** The last lines of a command's output that say something (stack frames left out), on one line. */
function lastLines(text: string): string {
  return tail(text.split('\n').filter((l) => !/^\s+at\s/.test(l)).join('\n'), 2).split('\n').join(' | ');
}

/** End the sessions of a stopped command still on the copy (a statement runs on after its client went away). */
async function endSessions(url: DbUrl, connections: readonly RecordedConnection[]): Promise<void> {
  const pids = connections.map((c) => c.backendPid).filter((p): p is number => p !== undefined);
  if (!pids.length) return;
  await withClient(url, (client) => terminateBackends(client, pids)).catch(() => undefined);
}

/**
 * Lint what the command ran (warn mode: findings are reported, nothing is refused), against the
 * copy's catalog as the runner lints pending migrations: each session's statements in order as one
 * plain SQL text (its SET and transaction control included, so lock_timeout and transaction blocks
 * count), starting with the session's default lock_timeout. The framework's bookkeeping is left out.
 */
async function lintRecorded(
  statements: readonly RecordedStatement[],
  connections: readonly RecordedConnection[],
  context: { catalog: Awaited<ReturnType<typeof readLintSchema>>; pgVersion: number; lockTimeout: string; settings: MigrateSettings },
): Promise<Map<RecordedStatement, MigrationReport['findings']>> {
  const findings = new Map<RecordedStatement, MigrationReport['findings']>();
  if (context.settings.lint === 'off') return findings;
  const [{ SchemaModel }, { checkRuleConfig, lintFile }] = await Promise.all([import('../lint/schema-model.js'), import('../lint/lint.js')]);
  await ensureParser();
  checkRuleConfig(context.settings.lintProject.ruleConfig);
  const model = new SchemaModel(context.catalog);
  const work = statements.filter((s) => statementRole(s) === 'migration');
  const ordinal = new Map(work.map((s, i) => [s, i + 1]));
  const order = [...new Set(work.map((s) => s.connection))];
  for (const id of order) {
    const own = statements.filter((s) => s.connection === id && s.kind !== undefined && !s.truncated && statementRole(s) !== 'bookkeeping');
    const connection = connections.find((c) => c.id === id);
    const startupTimeout = /(?:^|\s)-c\s*lock_timeout=(\S+)/.exec(connection?.options ?? '')?.[1];
    const lockTimeout = startupTimeout ?? context.lockTimeout;
    const lines: string[] = [];
    if (!/^0+\s*(ms|s|min)?$/.test(lockTimeout.trim())) lines.push(`SET lock_timeout = '${lockTimeout.replace(/'/g, "''")}';`);
    const at: Array<{ from: number; to: number; statement: RecordedStatement }> = [];
    for (const s of own) {
      const text = `${s.sql.trim().replace(/;+$/, '')};`;
      const from = lines.length + 1;
      lines.push(...text.split('\n'));
      at.push({ from, to: lines.length, statement: s });
    }
    const first = own[0];
    const run = lintFile(`session ${id}`, lines.join('\n'), {
      pgVersion: context.pgVersion,
      model,
      smallTable: context.settings.lintProject.smallTable,
      ruleConfig: context.settings.lintProject.ruleConfig,
      assumeInTransaction: Boolean(first?.inTransaction && first.kind !== 'TransactionStmt'),
    }, 'plain');
    for (const f of run.findings) {
      const statement = at.find((a) => f.line >= a.from && f.line <= a.to)?.statement;
      if (!statement || statementRole(statement) !== 'migration') continue;
      findings.set(statement, [...(findings.get(statement) ?? []), { rule: f.rule, severity: f.severity, line: ordinal.get(statement)!, message: f.message }]);
    }
  }
  return findings;
}

/**
 * Run the rollback command and compare the schema with the one before the command; run the command
 * again and compare with the first result. A one-step rollback command runs again while its ledger
 * rows show fewer migrations rolled back than the command applied.
 */
async function checkCommandReversible(
  deps: Deps,
  url: DbUrl,
  split: SqlSplitter,
  options: CommandRehearsalOptions & { rollbackCommand: string },
  state: { schemaBefore: string; applied: string[]; firstFailed: boolean },
): Promise<RehearsalReport['reversible']> {
  const afterFirst = await dumpSchema(deps.pgTools, url);
  const problems: ReversibilityProblem[] = [];
  const rollback = 'the rollback command';
  let removed = 0;
  for (let runs = 1; ; runs++) {
    deps.output.info(`rehearse: running the rollback command${runs > 1 ? ` again (${removed} of ${state.applied.length} migration(s) rolled back so far)` : ''}: ${options.rollbackCommand}`);
    const back = await runThroughProxy(deps, url, options.rollbackCommand, 'rollback command', split);
    if (back.exitCode !== 0) {
      problems.push({ migration: rollback, object: 'rollback command', problem: `it failed (exit ${back.exitCode})${back.outputTail ? `: ${back.outputTail}` : ''}` });
      return { ok: false, checked: [], skipped: [], problems };
    }
    const transactions = back.recording.transactions;
    const now = back.recording.statements
      .filter((s) => s.transaction === undefined || transactions[s.transaction]?.outcome === 'commit')
      .reduce((n, s) => n + ledgerRemovals(s), 0);
    removed += now;
    if (now === 0 || removed >= state.applied.length || runs >= state.applied.length) break;
  }
  const differences = (expected: string, actual: string, migration: string, after: string): ReversibilityProblem[] => {
    const d = objectDiff(expected, actual);
    const keep = (object: string): boolean => !isBookkeepingObject(object);
    return [
      ...d.removed.filter(keep).map((object) => ({ migration, object, problem: `${object} is missing ${after}` })),
      ...d.added.filter(keep).map((object) => ({ migration, object, problem: `${object} is still there ${after}` })),
      ...d.changed.filter(keep).map((object) => ({ migration, object, problem: `${object} differs ${after}` })),
    ];
  };
  problems.push(...differences(state.schemaBefore, await dumpSchema(deps.pgTools, url), rollback, 'after the rollback command (compared with the schema before the migration command)'));
  deps.output.info(`rehearse: running the migration command again after the rollback: ${options.command}`);
  const again = await runThroughProxy(deps, url, options.command, 'migration command (again)', split);
  if (again.exitCode !== 0 && !state.firstFailed) {
    problems.push({ migration: options.command, object: 'migration command', problem: `running it again after the rollback failed (exit ${again.exitCode})${again.outputTail ? `: ${again.outputTail}` : ''}` });
  }
  problems.push(...differences(afterFirst, await dumpSchema(deps.pgTools, url), options.command, 'after the rollback and the command again (compared with the schema after the first run)'));
  return { ok: problems.length === 0, checked: state.applied, skipped: [], problems };
}

/**
 * WAL positions read from a session of its own, each tagged with a time on the rehearsal's clock and
 * the proxied session it was read for: a statement's WAL is the position read when it ended less the
 * last one read before it started. (Cluster-wide, like the runner's measure.)
 */
class WalMeter {
  private readonly samples = new Map<number, Array<{ t: number; lsn: Promise<string | undefined> }>>();

  private constructor(private readonly client: pg.Client) {}

  static async start(url: DbUrl): Promise<WalMeter> {
    return new WalMeter(await connect(url, { applicationName: 'drydock rehearse (WAL meter)' }));
  }

  /** Read the position now for session `connection`, at time `t`. */
  sample(connection: number, t: number): Promise<void> {
    const lsn = readWalLsn(this.client).catch(() => undefined);
    const list = this.samples.get(connection) ?? [];
    list.push({ t, lsn });
    this.samples.set(connection, list);
    return lsn.then(() => undefined);
  }

  async bytesOf(statements: readonly RecordedStatement[]): Promise<Map<RecordedStatement, number>> {
    const out = new Map<RecordedStatement, number>();
    for (const s of statements) {
      const list = this.samples.get(s.connection) ?? [];
      const start = [...list].reverse().find((x) => x.t <= s.startMs);
      const end = list.find((x) => x.t >= s.endMs);
      if (!start || !end) continue;
      const [a, b] = [await start.lsn, await end.lsn];
      if (a && b) out.set(s, Math.max(0, Number(lsnToBigInt(b) - lsnToBigInt(a))));
    }
    return out;
  }

  async end(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

/** A pg_lsn ("16/B374D848") as a number of bytes. */
export function lsnToBigInt(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi ?? '0'}`) << 32n) + BigInt(`0x${lo ?? '0'}`);
}

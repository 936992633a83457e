/**
 * Shared helpers for `npm run bench:*`: flags and the main wrapper, statistics, a spawn-and-time
 * wrapper, an interleaved runner, scratch databases (through drydock's own LocalServer, withClient
 * and URL helpers), cleanup on failure and Ctrl-C, machine facts and plain-text tables.
 *
 * Machines are noisy, so a benchmark never compares numbers from separate runs: it runs drydock and
 * its reference in the same run, interleaved round by round (rotating who goes first), and reports
 * medians and ratios of medians.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { arch, availableParallelism, cpus, loadavg, platform, release as osRelease, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import type pg from 'pg';

import { isDrydockError } from '../../src/errors.js';
import { displayCommand, tail } from '../../src/exec.js';
import { LocalServer } from '../../src/local/server.js';
import { versionOf } from '../../src/migrate/create.js';
import { withClient } from '../../src/pg/client.js';
import { quoteIdent } from '../../src/pg/ident.js';
import { readServerVersion } from '../../src/pg/queries/server-facts.js';
import { parseDatabaseUrl, withDatabase, type DbUrl } from '../../src/pg/url.js';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The built CLI (`npm run bench:*` builds it first). */
export const CLI = join(ROOT, 'dist/cli.js');

/** Throw unless dist/cli.js exists (`npm run <npmScript>` builds it). */
export function requireBuiltCli(npmScript: string): void {
  if (!existsSync(CLI)) throw new Error(`dist/cli.js is missing: run \`npm run build\` first (npm run ${npmScript} does)`);
}

// ---------------------------------------------------------------------------------------------
// Flags and the main wrapper

type FlagOptions = NonNullable<ParseArgsConfig['options']>;

/** This script's flags through node:util parseArgs (strict); -h/--help prints `usage` and exits. */
export function parseFlags<const O extends FlagOptions>(usage: string, options: O) {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true });
  if ((values as { help?: boolean }).help) {
    print(usage);
    process.exit(0);
  }
  return values;
}

/** A whole-number command-line flag of at least `min`; throws with the usage text otherwise. */
export function wholeNumber(flag: string, value: string, min: number, usage: string): number {
  if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`--${flag} must be a whole number ≥ ${min}, not "${value}"\n${usage}`);
  return Number(value);
}

/** True when the module at `moduleUrl` is the script node was started with (not imported). */
export function isEntryPoint(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(moduleUrl) === process.argv[1];
}

/** Run a script's main; a failure prints `label: message` (drydock's hint too, or the stack) on stderr and sets exit code 1. */
export function runMain(label: string, main: () => Promise<void>, options: { stack?: boolean } = {}): void {
  main().catch((error: unknown) => {
    progressDone();
    const err = error instanceof Error ? error : new Error(String(error));
    const hint = isDrydockError(error) && error.hint ? `\nhint: ${error.hint}` : '';
    process.stderr.write(`${label}: ${options.stack ? (err.stack ?? err.message) : err.message}${hint}\n`);
    process.exitCode = 1;
  });
}

/** Our environment without the variables `drop` matches, plus `extra`. */
export function envWithout(drop: RegExp, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !drop.test(key))), ...extra };
}

// ---------------------------------------------------------------------------------------------
// Statistics

/** The p-th percentile (0–100), linearly interpolated between closest ranks (numpy's default). */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  return sorted.length ? sorted[lo]! + (sorted[Math.ceil(rank)]! - sorted[lo]!) * (rank - lo) : Number.NaN;
}

/** Summary of one subject's samples, in ms. */
export interface Stats {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
  mean: number;
}

/** Summarize samples (ms); NaN everywhere but n for none. */
export function summarize(samples: readonly number[]): Stats {
  const n = samples.length;
  const at = (p: number): number => percentile(samples, p);
  return { n, median: at(50), p90: at(90), min: at(0), max: at(100), mean: n ? samples.reduce((a, b) => a + b, 0) / n : Number.NaN };
}

/** Round to `digits` decimals for JSON output. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Stats rounded for JSON. */
export function roundStats(stats: Stats, digits = 2): Stats {
  return Object.fromEntries(Object.entries(stats).map(([key, value]: [string, number]) => [key, round(value, digits)])) as unknown as Stats;
}

/** Samples by subject, rounded for JSON. */
export function roundSamples(samples: ReadonlyMap<string, readonly number[]>): Record<string, number[]> {
  return Object.fromEntries([...samples].map(([name, values]) => [name, values.map((x) => round(x))]));
}

// ---------------------------------------------------------------------------------------------
// Timing processes

/** Milliseconds since `start` (a process.hrtime.bigint() reading). */
export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Seconds since `start`, one decimal, for log lines. */
export function elapsedS(start: bigint): string {
  return (elapsedMs(start) / 1000).toFixed(1);
}

/** One timed process. */
export interface TimedProcess {
  /** Wall time from spawn to exit, in ms. */
  ms: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of a timed process. */
export interface SpawnTimedOptions {
  cwd?: string;
  /** The whole environment of the child (not merged with process.env). */
  env?: NodeJS.ProcessEnv;
  /** Kill the child after this long (default 120 s). */
  timeoutMs?: number;
  /**
   * Start the child in its own process group and kill the whole group (on timeout and in Cleanup),
   * for wrappers such as /usr/bin/time or a CLI that spawns pg_dump/pg_restore: killing only the
   * direct child would leave its children running.
   */
  processGroup?: boolean;
  /** Called with the child right after spawn (e.g. to watch /proc/<pid>). */
  onSpawn?: (child: ChildProcess) => void;
}

const liveChildren = new Set<ChildProcess>();
const groupLeaders = new WeakSet<ChildProcess>();

/** SIGKILL a child, or its whole process group when it was started with processGroup. */
function killChild(child: ChildProcess): void {
  if (groupLeaders.has(child) && child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL');
      return;
    } catch {
      // the group is gone: fall back to the child itself
    }
  }
  child.kill('SIGKILL');
}

/**
 * Spawn `file args` (no shell), capture stdout and stderr, and time it from spawn to exit with
 * process.hrtime.bigint. Resolves whatever the exit code; see spawnTimedOk to require 0.
 *
 * This is the measuring instrument, so it is not src/exec.ts `run` (used for untimed commands):
 * run() loads execa on first use, resolves after the pipes drain rather than at exit, replaces the
 * environment with an allowlist, and has no process-group kill or pid hook for the RSS polling.
 */
export function spawnTimed(file: string, args: readonly string[], options: SpawnTimedOptions = {}): Promise<TimedProcess> {
  return new Promise((resolvePromise, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let exitedAt: bigint | undefined;
    const start = process.hrtime.bigint();
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.processGroup ?? false });
    liveChildren.add(child);
    if (options.processGroup) groupLeaders.add(child);
    options.onSpawn?.(child);
    const timer = setTimeout(() => killChild(child), options.timeoutMs ?? 120_000);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      reject(error);
    });
    // 'exit' is the end of the process; 'close' follows once its pipes are drained.
    child.on('exit', () => {
      exitedAt = process.hrtime.bigint();
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      const end = exitedAt ?? process.hrtime.bigint();
      resolvePromise({
        ms: Number(end - start) / 1e6,
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}

/** Throw (with the command and the tail of its output) unless the run exited 0. */
export function requireExit0(label: string, run: Pick<TimedProcess, 'ms' | 'code' | 'stdout' | 'stderr'>, command: string): void {
  if (run.code === 0) return;
  throw new Error(`${label} failed (exit ${run.code ?? 'killed'}) after ${formatMs(run.ms)}\n$ ${command}\n${tail(`${run.stdout}\n${run.stderr}`, 25)}`);
}

/** Like spawnTimed, but throws unless the exit code is 0. Returns ms. */
export async function spawnTimedOk(label: string, file: string, args: readonly string[], options: SpawnTimedOptions = {}): Promise<number> {
  const run = await spawnTimed(file, args, options);
  requireExit0(label, run, displayCommand(file, args));
  return run.ms;
}

// ---------------------------------------------------------------------------------------------
// Interleaved runner

/** One thing to measure. */
export interface Subject {
  name: string;
  /** Untimed preparation before each run (e.g. a fresh database). */
  prepare?(round: number): Promise<void>;
  /** One timed run; returns its duration in ms (usually from spawnTimedOk). */
  run(round: number): Promise<number>;
  /** Untimed check after each run (e.g. that 200 migrations were recorded). */
  verify?(round: number): Promise<void>;
}

/** Options of runInterleaved. */
export interface InterleaveOptions {
  rounds: number;
  /** Rounds run first and discarded (warm disk caches, the server's catalog caches). */
  warmup?: number;
  /** Called after each measured round. */
  onRound?(round: number, samples: Map<string, number[]>): void;
}

/**
 * Run every subject once per round, rotating which goes first so no subject always follows the
 * same neighbour. Returns the samples (ms) of the measured rounds by subject name.
 */
export async function runInterleaved(subjects: readonly Subject[], options: InterleaveOptions): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  const warmup = options.warmup ?? 0;
  for (let round = -warmup; round < options.rounds; round++) {
    const offset = ((round % subjects.length) + subjects.length) % subjects.length;
    for (let i = 0; i < subjects.length; i++) {
      const subject = subjects[(i + offset) % subjects.length]!;
      await subject.prepare?.(round);
      const ms = await subject.run(round);
      await subject.verify?.(round);
      if (round >= 0) samples.get(subject.name)!.push(ms);
    }
    if (round >= 0) options.onRound?.(round, samples);
  }
  return samples;
}

// ---------------------------------------------------------------------------------------------
// The server, scratch databases and temp dirs

/** The server benchmarks use: DRYDOCK_BENCH_DATABASE_URL, else the local trust-auth server. */
export function benchServer(): DbUrl {
  return parseDatabaseUrl(process.env.DRYDOCK_BENCH_DATABASE_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/postgres', 'DRYDOCK_BENCH_DATABASE_URL');
}

/** host:port of a server, as the reports print it. */
export function hostPort(url: DbUrl): string {
  return `${url.host ?? 'local socket'}${url.port ? `:${url.port}` : ''}`;
}

/** Run `fn` with one connection to `url` (drydock's withClient, named "drydock bench" in pg_stat_activity). */
export function withConnection<T>(url: DbUrl, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(url, fn, { applicationName: 'drydock bench' });
}

/** Run `fn` with drydock's LocalServer on a connection to the server's maintenance database (the one in `server`). */
export function withServer<T>(server: DbUrl, fn: (local: LocalServer) => Promise<T>): Promise<T> {
  return withConnection(server, (client) => fn(new LocalServer(client)));
}

/** Drop `name` if it exists (LocalServer.drop: ends its sessions, unmarks a template). */
export async function dropDatabase(server: DbUrl, name: string): Promise<void> {
  await withServer(server, (local) => local.drop(name));
}

/** Drop (if present) and create `name`; returns its URL. */
export async function recreateDatabase(server: DbUrl, name: string): Promise<DbUrl> {
  await withServer(server, async (local) => {
    await local.drop(name);
    await local.admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
  });
  return withDatabase(server, name);
}

/** Drop each of `targets` and every database drydock made for one of them (its JSON comment names the target). */
export async function dropWithDrydockCopies(server: DbUrl, targets: Iterable<string>): Promise<void> {
  const wanted = new Set(targets);
  await withServer(server, async (local) => {
    for (const db of await local.drydockDatabases()) if (wanted.has(db.meta.target)) await local.drop(db.datname);
    for (const target of wanted) await local.drop(target);
  });
}

/**
 * A temp dir whose `node_modules` links to the repo's, so a reference script written there
 * imports `pg` exactly as dist/cli.js does (the same package, the same ESM entry).
 */
export async function makeScratchDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/** Remove a temp dir. */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** The 14-digit migration version `index` minutes after 2024-01-01 (drydock's versionOf). */
export function versionAt(index: number): string {
  return versionOf(new Date(Date.UTC(2024, 0, 1) + index * 60_000));
}

// ---------------------------------------------------------------------------------------------
// Cleanup on success, failure and Ctrl-C

/** Cleanup steps run once, newest first, at the end, on failure or on SIGINT/SIGTERM. */
export class Cleanup {
  private readonly steps: Array<{ label: string; fn: () => Promise<void> }> = [];
  private running: Promise<void> | undefined;

  /** Register a step. */
  add(label: string, fn: () => Promise<void>): void {
    this.steps.push({ label, fn });
  }

  /** Run every step (newest first); failures are reported, not thrown. */
  run(): Promise<void> {
    this.running ??= (async () => {
      for (const child of liveChildren) killChild(child);
      for (const step of [...this.steps].reverse()) {
        try {
          await step.fn();
        } catch (error) {
          process.stderr.write(`cleanup: ${step.label} failed: ${(error as Error).message}\n`);
        }
      }
    })();
    return this.running;
  }

  /**
   * On SIGINT/SIGTERM: clean up, then exit 130/143. Signals that arrive while cleaning up are ignored
   * (one Ctrl-C often arrives twice: from the terminal and relayed by tsx or npm to the child, and the
   * default action of the second would end the process halfway through the cleanup).
   */
  installSignalHandlers(): void {
    let first: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (first) {
        process.stderr.write(`${signal}: still cleaning up (kill -9 ${process.pid} to abandon it)\n`);
        return;
      }
      first = signal;
      process.stderr.write(`\n${signal}: cleaning up…\n`);
      void this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
}

/** Run `body` with a Cleanup that runs when it ends, fails, or on SIGINT/SIGTERM. */
export async function withCleanup(body: (cleanup: Cleanup) => Promise<void>): Promise<void> {
  const cleanup = new Cleanup();
  cleanup.installSignalHandlers();
  try {
    await body(cleanup);
  } finally {
    await cleanup.run();
  }
}

// ---------------------------------------------------------------------------------------------
// Machine facts and output

/** Facts that make numbers comparable between machines. */
export interface MachineInfo {
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  loadAverage1m: number;
  postgres: string;
  postgresHost: string;
  date: string;
}

/** Node, CPU, memory, load and PostgreSQL server version. */
export async function machineInfo(server: DbUrl): Promise<MachineInfo> {
  const version = await withConnection(server, readServerVersion);
  return {
    node: process.version,
    platform: `${platform()} ${arch()} ${osRelease()}`,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    loadAverage1m: loadAverage1m(),
    postgres: `PostgreSQL ${version.full}`,
    postgresHost: hostPort(server),
    date: new Date().toISOString(),
  };
}

/** The 1-minute load average, two decimals. */
export function loadAverage1m(): number {
  return round(loadavg()[0] ?? 0, 2);
}

/** Lines describing the machine. */
export function renderMachine(m: MachineInfo): string {
  return [
    `node      ${m.node} (${m.platform})`,
    `cpu       ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, load ${m.loadAverage1m} (1 min)`,
    `postgres  ${m.postgres} at ${m.postgresHost}`,
    `date      ${m.date}`,
  ].join('\n');
}

/** Print the command line and the machine (the head of a report); returns the machine for --json. */
export async function printHeader(server: DbUrl): Promise<MachineInfo> {
  print(`$ ${commandLine()}`);
  const machine = await machineInfo(server);
  print(renderMachine(machine));
  return machine;
}

/** The command line as typed: `tsx scripts/bench/x.ts --flags`, noting the npm script that ran it. */
export function commandLine(): string {
  const script = process.argv[1] ? relative(process.cwd(), process.argv[1]) || process.argv[1] : '?';
  // npm sets these for `npm run <script>` (and `npx`, whose "script" is not ours).
  const npmScript = process.env.npm_lifecycle_event;
  const viaNpm = npmScript && process.env.npm_lifecycle_script?.includes(script) ? `   (via npm run ${npmScript})` : '';
  return `${displayCommand('tsx', [script, ...process.argv.slice(2)])}${viaNpm}`;
}

/** "12.3 ms" with sensible precision. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** "3.21×". */
export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '–';
}

/** A plain-text table: first column left-aligned, the rest right-aligned. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, indent = '  '): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    indent +
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(header), indent + widths.map((w) => '─'.repeat(w)).join('   '), ...rows.map(line)].join('\n');
}

/** Table row for a subject: name, median, p90, min, max, n. */
export function statsRow(name: string, stats: Stats): string[] {
  return [name, formatMs(stats.median), formatMs(stats.p90), formatMs(stats.min), formatMs(stats.max), String(stats.n)];
}

/** Header matching statsRow. */
export const STATS_HEADER = ['', 'median', 'p90', 'min', 'max', 'n'] as const;

/** Progress on stderr, overwriting one line on a terminal and silent otherwise (logs stay clean). */
export function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
}

/** End a progress line. */
export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

/** JSON with two-space indentation, but arrays of numbers kept on one line. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`);
}

/** Write to stdout (benchmarks print; src/ never does outside output.ts). */
export function print(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/**
 * Shared helpers for `npm run bench:*`: statistics, a spawn-and-time wrapper, an interleaved runner,
 * scratch databases, cleanup on failure and Ctrl-C, machine facts and plain-text tables.
 *
 * Machines are noisy, so a benchmark never compares numbers from separate runs: it runs drydock and
 * its reference in the same run, interleaved round by round (rotating who goes first), and reports
 * medians and ratios of medians.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { arch, availableParallelism, cpus, loadavg, platform, release as osRelease, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import pg from 'pg';

import { quoteIdent } from '../../src/pg/ident.js';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The built CLI (`npm run bench:*` builds it first). */
export const CLI = join(ROOT, 'dist/cli.js');

/** The server benchmarks use: DRYDOCK_BENCH_DATABASE_URL, else the local trust-auth server. */
export function benchServerUrl(): string {
  return process.env.DRYDOCK_BENCH_DATABASE_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/postgres';
}

// ---------------------------------------------------------------------------------------------
// Statistics

/** Median of the samples (mean of the middle two for an even count). */
export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** The p-th percentile (0–100), linearly interpolated between closest ranks (numpy's default). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
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

/** Summarize samples (ms). */
export function summarize(samples: readonly number[]): Stats {
  return {
    n: samples.length,
    median: median(samples),
    p90: percentile(samples, 90),
    min: samples.length ? Math.min(...samples) : Number.NaN,
    max: samples.length ? Math.max(...samples) : Number.NaN,
    mean: samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : Number.NaN,
  };
}

/** Round to `digits` decimals for JSON output. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Stats rounded for JSON. */
export function roundStats(stats: Stats, digits = 2): Stats {
  return {
    n: stats.n,
    median: round(stats.median, digits),
    p90: round(stats.p90, digits),
    min: round(stats.min, digits),
    max: round(stats.max, digits),
    mean: round(stats.mean, digits),
  };
}

// ---------------------------------------------------------------------------------------------
// Timing processes

/** Milliseconds since `start` (a process.hrtime.bigint() reading). */
export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Time an async function (ms). */
export async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return elapsedMs(start);
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

/** Like spawnTimed, but throws (with the tail of the output) unless the exit code is 0. Returns ms. */
export async function spawnTimedOk(label: string, file: string, args: readonly string[], options: SpawnTimedOptions = {}): Promise<number> {
  const run = await spawnTimed(file, args, options);
  if (run.code !== 0) {
    const tail = (run.stderr.trim() || run.stdout.trim()).split('\n').slice(-15).join('\n');
    throw new Error(`${label} exited with ${run.code ?? run.signal}: ${[file, ...args].join(' ')}\n${tail}`);
  }
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
// Scratch databases and temp dirs

/** `base` with its database replaced by `database`. */
export function urlFor(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** Run one statement on the server's maintenance database (the one in `serverUrl`). */
export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(serverUrl: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await client.query<T>(sql, params);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Run `fn` with one connection to `url`. */
export async function withConnection<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drop (if present) and create `name`; returns its URL. */
export async function recreateDatabase(serverUrl: string, name: string): Promise<string> {
  await dropDatabase(serverUrl, name);
  await adminQuery(serverUrl, `CREATE DATABASE ${quoteIdent(name)}`);
  return urlFor(serverUrl, name);
}

/** Drop `name` if it exists, ending its sessions (PostgreSQL 13+). */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
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
export async function machineInfo(serverUrl: string): Promise<MachineInfo> {
  const { rows } = await adminQuery<{ v: string }>(serverUrl, 'SELECT version() AS v');
  const full = rows[0]?.v ?? 'unknown';
  return {
    node: process.version,
    platform: `${platform()} ${arch()} ${osRelease()}`,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    loadAverage1m: round(loadavg()[0] ?? 0, 2),
    postgres: full.split(/,| on /)[0] ?? full,
    postgresHost: new URL(serverUrl).host,
    date: new Date().toISOString(),
  };
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

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command line as typed: `tsx scripts/bench/x.ts --flags`, noting the npm script that ran it. */
export function commandLine(): string {
  const script = process.argv[1] ? relative(process.cwd(), process.argv[1]) || process.argv[1] : '?';
  const line = ['tsx', script, ...process.argv.slice(2)].map(shellQuote).join(' ');
  // npm sets these for `npm run <script>` (and `npx`, whose "script" is not ours).
  const npmScript = process.env.npm_lifecycle_event;
  const viaNpm = npmScript && process.env.npm_lifecycle_script?.includes(script) ? `   (via npm run ${npmScript})` : '';
  return `${line}${viaNpm}`;
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

/** A whole-number command-line flag of at least `min`; throws with the usage text otherwise. */
export function wholeNumber(flag: string, value: string, min: number, usage: string): number {
  if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`--${flag} must be a whole number ≥ ${min}, not "${value}"\n${usage}`);
  return Number(value);
}

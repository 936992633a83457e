/**
 * The emulator's own pg_dump and pg_restore runs (what Heroku's transfer workers do). The
 * password travels in PGPASSWORD and the rest of the URL in PG* variables, never in argv, so
 * `ps` and error logs don't show it. The client tools come from /usr/lib/postgresql/<server
 * major>/bin when that exists (Debian's layout), else PATH.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { backingUrl } from './tls-databases.js';

/** What a finished tool left behind. */
export interface PgCommandResult {
  /** Exit code, or -1 when the tool could not be started or was killed. */
  exitCode: number;
  /** Every non-empty stderr line (pg_dump --verbose and pg_restore --verbose log there). */
  lines: string[];
}

/** The tool for a server major: Debian's versioned directory when it exists, else PATH. */
export function pgBinary(name: 'pg_dump' | 'pg_restore', serverMajor: number | undefined): string {
  if (serverMajor !== undefined) {
    const candidate = join('/usr/lib/postgresql', String(serverMajor), 'bin', name);
    if (existsSync(candidate)) return candidate;
  }
  return name;
}

/** "15.4" → 15; undefined when it doesn't parse. */
export function majorOf(version: string | undefined): number | undefined {
  const m = /^(\d+)/.exec(version ?? '');
  return m ? Number(m[1]) : undefined;
}

/** libpq variables for a postgres:// URL; the password goes in PGPASSWORD. */
export function connectionEnv(url: string): Record<string, string> {
  // Heroku's transfer workers reach a database published over TLS directly.
  const u = new URL(backingUrl(url));
  const env: Record<string, string> = {};
  if (u.hostname) env.PGHOST = decodeURIComponent(u.hostname.replace(/^\[|\]$/g, ''));
  if (u.port) env.PGPORT = u.port;
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (database) env.PGDATABASE = database;
  env.PGSSLMODE = u.searchParams.get('sslmode') ?? 'prefer';
  return env;
}

/** The parent environment without any PG* variable, so only the URL decides the connection. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^PG/.test(k)) env[k] = v;
  return env;
}

/**
 * Run a client tool against the database of `url`. Never rejects: a tool that can't start ends
 * with exitCode -1 and the reason as its only line. `children` tracks the process so the emulator
 * can kill it on stop.
 */
export function runPgCommand(
  bin: string,
  args: string[],
  url: string,
  children: Set<ChildProcess>,
  onLine?: (line: string) => void,
): Promise<PgCommandResult> {
  return new Promise((resolve) => {
    const lines: string[] = [];
    const push = (line: string): void => {
      const clean = line.trimEnd();
      if (!clean.trim()) return;
      lines.push(clean);
      onLine?.(clean);
    };
    let child: ChildProcess;
    try {
      child = spawn(bin, args, { env: { ...baseEnv(), ...connectionEnv(url) }, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      resolve({ exitCode: -1, lines: [`${bin}: could not start: ${(error as Error).message}`] });
      return;
    }
    children.add(child);
    let buffered = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      parts.forEach(push);
    });
    child.once('error', (error) => {
      children.delete(child);
      push(`${bin.split('/').pop() ?? bin}: could not start: ${error.message}`);
      resolve({ exitCode: -1, lines });
    });
    child.once('close', (code) => {
      children.delete(child);
      if (buffered) push(buffered);
      resolve({ exitCode: code ?? -1, lines });
    });
  });
}

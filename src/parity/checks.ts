/**
 * Version parity verdicts (pure): can this machine dump production, restore the dump locally,
 * and rehearse on a server that behaves like production?
 *
 * Postgres rules behind the verdicts:
 * - pg_dump refuses a server of a newer major ("aborting because of server version mismatch"),
 *   so the client major must be >= the server major.
 *   https://www.postgresql.org/docs/current/app-pgdump.html
 * - pg_restore reads archives written by its own or older pg_dump only ("unsupported version in file header").
 * - Dump output is only guaranteed to load into a server of the same or a newer major.
 * - A faithful rehearsal needs the same major: planner, locking and syntax differ between majors.
 */
import type { AvailableExtension, InstalledExtension } from '../pg/queries/server-facts.js';
import { pickTool, type ClientTool } from '../pg/tools.js';
import { majorLabel, majorOrder, type PgVersion } from '../pg/version.js';
import { installClientTools, installExtension, installServer, preferOnPath, type Remedy } from './remedies.js';

/** An installed client tool, as pg/tools discovered it. */
export type ToolFact = ClientTool;

/** What is known about one server; `error` says why the rest is missing. */
export interface ServerFacts {
  /** Where it is, masked (for messages). */
  label: string;
  version: PgVersion | undefined;
  /** How the version was learned. */
  versionSource?: 'connection' | 'pg:info' | undefined;
  error?: string | undefined;
}

/** Everything the verdicts are computed from. */
export interface ParityInput {
  production: ServerFacts & { extensions?: InstalledExtension[] | undefined };
  local: ServerFacts & { availableExtensions?: AvailableExtension[] | undefined };
  tools: ToolFact[];
}

/** Outcome of one check. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'unknown';

/** One verdict with its reason and, when it is not a pass, the remedy. */
export interface Check {
  id: 'dump' | 'restore' | 'server-major' | 'extensions' | 'psql';
  title: string;
  status: CheckStatus;
  /** One sentence: what holds or what is wrong, with the versions involved. */
  detail: string;
  remedies: Remedy[];
  /** The binary drydock will use, when the check picked one. */
  uses?: string | undefined;
}

/** The whole verdict. */
export interface ParityReport {
  checks: Check[];
  /** Every check passed or only warned. */
  ok: boolean;
  /** 0 all needed holds, 1 a check failed, 2 something could not be found out. */
  exitCode: 0 | 1 | 2;
}

/** The first tool of that name on PATH (what `heroku pg:pull` and a bare `pg_dump` would run). */
export function defaultTool(tools: ToolFact[], name: ToolFact['name']): ToolFact | undefined {
  return tools.find((t) => t.name === name && t.source === 'PATH');
}

function describeTool(t: ToolFact): string {
  return `${t.name} ${t.version.text} (${t.path})`;
}

function installedMajors(tools: ToolFact[], name: ToolFact['name']): string {
  const majors = [...new Set(tools.filter((t) => t.name === name).map((t) => t.version.text))];
  return majors.length ? majors.join(', ') : 'none';
}

/** Can a local pg_dump dump production? */
export function checkDump(input: ParityInput): Check & { picked?: ToolFact } {
  const title = 'pg_dump can dump production';
  const prod = input.production.version;
  if (!prod) {
    return { id: 'dump', title, status: 'unknown', detail: `production version unknown: ${input.production.error ?? 'not read'}`, remedies: [] };
  }
  const picked = pickTool(input.tools, 'pg_dump', { minMajor: prod.major, preferMajor: prod.major });
  const pathDefault = defaultTool(input.tools, 'pg_dump');
  const need = majorLabel(prod.major);
  if (!picked) {
    return {
      id: 'dump',
      title,
      status: 'fail',
      detail: `production runs PostgreSQL ${prod.text} but the newest pg_dump here is ${installedMajors(input.tools, 'pg_dump')}; pg_dump refuses a newer server ("server version mismatch")`,
      remedies: installClientTools(prod.major),
    };
  }
  if (pathDefault && majorOrder(pathDefault.version.major) < majorOrder(prod.major)) {
    return {
      id: 'dump',
      title,
      status: 'pass',
      detail: `pg_dump on PATH is ${pathDefault.version.text}, too old for PostgreSQL ${need}; drydock uses ${describeTool(picked)} (a bare \`heroku pg:pull\` would fail)`,
      remedies: preferOnPath(picked.path.replace(/\/pg_dump$/, '')),
      uses: picked.path,
      picked,
    };
  }
  return { id: 'dump', title, status: 'pass', detail: `${describeTool(picked)} can dump PostgreSQL ${prod.text}`, remedies: [], uses: picked.path, picked };
}

/** Can a local pg_restore read that dump and load it into the local server? */
export function checkRestore(input: ParityInput, dumpTool: ToolFact | undefined): Check {
  const title = 'pg_restore can restore the dump locally';
  const prod = input.production.version;
  if (!prod) {
    return { id: 'restore', title, status: 'unknown', detail: `production version unknown: ${input.production.error ?? 'not read'}`, remedies: [] };
  }
  const archiveMajor = dumpTool?.version.major ?? prod.major;
  const picked = pickTool(input.tools, 'pg_restore', { minMajor: archiveMajor, preferMajor: archiveMajor });
  if (!picked) {
    return {
      id: 'restore',
      title,
      status: 'fail',
      detail: `a dump made by pg_dump ${majorLabel(archiveMajor)} needs pg_restore ${majorLabel(archiveMajor)} or newer; installed: ${installedMajors(input.tools, 'pg_restore')}`,
      remedies: installClientTools(archiveMajor),
    };
  }
  const local = input.local.version;
  if (!local) {
    return {
      id: 'restore',
      title,
      status: 'unknown',
      detail: `${describeTool(picked)} can read the dump, but the local server could not be checked: ${input.local.error ?? 'not read'}`,
      remedies: [],
      uses: picked.path,
    };
  }
  if (majorOrder(local.major) < majorOrder(prod.major)) {
    return {
      id: 'restore',
      title,
      status: 'fail',
      detail: `the local server is PostgreSQL ${local.text}, older than production's ${prod.text}; a dump only loads reliably into the same or a newer major`,
      remedies: installServer(prod.major),
      uses: picked.path,
    };
  }
  return { id: 'restore', title, status: 'pass', detail: `${describeTool(picked)} can restore into the local PostgreSQL ${local.text}`, remedies: [], uses: picked.path };
}

/** Does the local server's major match production's? */
export function checkServerMajor(input: ParityInput): Check {
  const title = 'local server matches production';
  const prod = input.production.version;
  const local = input.local.version;
  if (!prod || !local) {
    const why = !prod ? `production version unknown: ${input.production.error ?? 'not read'}` : `local server unreachable: ${input.local.error ?? 'not read'}`;
    return { id: 'server-major', title, status: 'unknown', detail: why, remedies: prod && !local ? installServer(prod.major) : [] };
  }
  if (local.major !== prod.major) {
    const direction = majorOrder(local.major) < majorOrder(prod.major) ? 'older' : 'newer';
    return {
      id: 'server-major',
      title,
      status: 'fail',
      detail: `local server is PostgreSQL ${local.text}, production is ${prod.text} (${direction} major): a rehearsal would not behave like production (planner, locks, syntax)`,
      remedies: installServer(prod.major),
    };
  }
  if (local.minor !== prod.minor) {
    return {
      id: 'server-major',
      title,
      status: 'warn',
      detail: `same major ${majorLabel(prod.major)}, different minor: local ${local.text}, production ${prod.text} (minor releases only fix bugs)`,
      remedies: [],
    };
  }
  return { id: 'server-major', title, status: 'pass', detail: `both run PostgreSQL ${prod.text}`, remedies: [] };
}

/** Are the extensions production uses available on the local server? */
export function checkExtensions(input: ParityInput): Check {
  const title = 'production extensions are available locally';
  const used = input.production.extensions?.filter((e) => e.name !== 'plpgsql');
  if (!used) {
    return {
      id: 'extensions',
      title,
      status: 'unknown',
      detail: `production extensions unknown: ${input.production.error ?? 'could not connect to production to list them'}`,
      remedies: [],
    };
  }
  const available = input.local.availableExtensions;
  if (!available) {
    return { id: 'extensions', title, status: 'unknown', detail: `local server unreachable: ${input.local.error ?? 'not read'}`, remedies: [] };
  }
  if (used.length === 0) return { id: 'extensions', title, status: 'pass', detail: 'production uses no extensions besides plpgsql', remedies: [] };
  const byName = new Map(available.map((a) => [a.name, a]));
  const missing = used.filter((e) => !byName.has(e.name));
  const localMajor = input.local.version?.major ?? input.production.version?.major ?? 0;
  if (missing.length) {
    return {
      id: 'extensions',
      title,
      status: 'fail',
      detail: `missing locally: ${missing.map((e) => `${e.name} ${e.version}`).join(', ')} (the restore would fail on CREATE EXTENSION)`,
      remedies: missing.flatMap((e) => installExtension(e.name, localMajor)),
    };
  }
  const versionGaps = used.filter((e) => !byName.get(e.name)?.versions.includes(e.version));
  if (versionGaps.length) {
    return {
      id: 'extensions',
      title,
      status: 'warn',
      detail: `available, but not at production's version: ${versionGaps
        .map((e) => `${e.name} ${e.version} (local has ${byName.get(e.name)?.versions.join(', ')})`)
        .join('; ')}`,
      remedies: [],
    };
  }
  return { id: 'extensions', title, status: 'pass', detail: `all available: ${used.map((e) => `${e.name} ${e.version}`).join(', ')}`, remedies: [] };
}

/** Is there a psql (schema load, seeds)? */
export function checkPsql(input: ParityInput): Check {
  const title = 'psql is installed';
  const major = input.production.version?.major ?? input.local.version?.major;
  const psql = major ? pickTool(input.tools, 'psql', { minMajor: 0, preferMajor: major }) : input.tools.find((t) => t.name === 'psql');
  if (!psql) {
    return { id: 'psql', title, status: 'warn', detail: 'no psql found (needed for schema load and seeds)', remedies: major ? installClientTools(major) : [] };
  }
  return { id: 'psql', title, status: 'pass', detail: describeTool(psql), remedies: [], uses: psql.path };
}

/** All verdicts and the exit code they imply. */
export function evaluateParity(input: ParityInput): ParityReport {
  const dump = checkDump(input);
  const { picked, ...dumpCheck } = dump;
  const checks: Check[] = [dumpCheck, checkRestore(input, picked), checkServerMajor(input), checkExtensions(input), checkPsql(input)];
  const failed = checks.some((c) => c.status === 'fail');
  const unknown = checks.some((c) => c.status === 'unknown');
  const exitCode = failed ? 1 : unknown ? 2 : 0;
  return { checks, ok: exitCode === 0, exitCode };
}

/**
 * Postgres version strings, parsed by one tested function each (pure).
 */

/** A Postgres version: major, minor, and the text it came from. */
export interface PgVersion {
  major: number;
  minor: number;
  /** The version as printed, e.g. "15.20" or "9.6.24". */
  text: string;
}

/**
 * Parse a version out of `pg_dump --version` style output ("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"),
 * a server_version string ("16.4 (Ubuntu 16.4-1)", "17beta1") or a bare "14.11". Returns undefined when none is found.
 */
export function parseVersion(text: string): PgVersion | undefined {
  const m = /(?:\(PostgreSQL\)\s+|PostgreSQL\s+|^|\s)(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(?:alpha|beta|rc|devel)\d*)?\b/.exec(text.trim());
  if (!m) return undefined;
  const first = Number(m[1]);
  const second = m[2] === undefined ? 0 : Number(m[2]);
  const third = m[3] === undefined ? 0 : Number(m[3]);
  // Before 10 the major was two numbers (9.6); from 10 on it is one (15.4).
  if (first < 10 && m[2] !== undefined) {
    return { major: first * 10 + second, minor: third, text: `${first}.${second}.${third}` };
  }
  const isPre = /(alpha|beta|rc|devel)/.test(m[0]);
  return { major: first, minor: second, text: isPre ? m[0].trim() : `${first}.${second}` };
}

/** Parse `server_version_num` (e.g. 150020 → 15.20, 90624 → 9.6.24). */
export function parseServerVersionNum(num: number | string): PgVersion {
  const n = Number(num);
  if (n >= 100000) {
    const major = Math.floor(n / 10000);
    const minor = n % 10000;
    return { major, minor, text: `${major}.${minor}` };
  }
  const a = Math.floor(n / 10000);
  const b = Math.floor((n % 10000) / 100);
  const c = n % 100;
  return { major: a * 10 + b, minor: c, text: `${a}.${b}.${c}` };
}

/**
 * Majors from this value up are the two-part majors of old releases (6.0 … 9.6 encoded as 60 … 96).
 * One-part majors started at 10 (2017) and will not reach 60 for decades.
 */
const FIRST_ENCODED_MAJOR = 60;

/** True for an encoded two-part major such as 96 (9.6). */
export function isTwoPartMajor(major: number): boolean {
  return major >= FIRST_ENCODED_MAJOR && major <= 99;
}

/**
 * A number that orders majors by release: 96 (9.6) → 9.6, 15 → 15. Compare majors through this,
 * never directly: 96 > 10 numerically, but 9.6 is older than 10.
 */
export function majorOrder(major: number): number {
  return isTwoPartMajor(major) ? major / 10 : major;
}

/** The major as people write it: 15, or 9.6 for old servers. */
export function majorLabel(major: number): string {
  return isTwoPartMajor(major) ? `${Math.floor(major / 10)}.${major % 10}` : String(major);
}

/** Compare two versions by release order: negative, zero or positive. */
export function compareVersions(a: PgVersion, b: PgVersion): number {
  return majorOrder(a.major) - majorOrder(b.major) || a.minor - b.minor;
}

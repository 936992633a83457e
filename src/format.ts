/**
 * How drydock prints durations, sizes and ages: one function for each, used by every command.
 */

const GB = 1024 ** 3;
const MB = 1024 ** 2;

/** The units durations and ages are printed in, and where each one hands over to the next. */
const DURATION_UNITS = [
  { unit: 'ms', ms: 1, below: 1000 },
  { unit: 's', ms: 1000, below: 60 },
  { unit: 'min', ms: 60_000, below: 60 },
  { unit: 'h', ms: 3_600_000, below: 48 },
  { unit: 'd', ms: 86_400_000, below: Number.POSITIVE_INFINITY },
] as const;

/**
 * A duration or an age for people, in the unit that fits: "12 ms", "1.4 s", "45 s", "4 min", "2.5 h",
 * "30 h", "3 d". One decimal below 10 (dropped when it is .0), whole numbers from 10 on; a value that
 * rounds up to the next unit's size is printed in that unit ("60 s" is "1 min"). Every duration and age
 * drydock prints goes through here.
 */
export function formatDuration(ms: number): string {
  const value = Math.max(0, ms);
  for (const { unit, ms: size, below } of DURATION_UNITS) {
    const n = value / size;
    const rounded = unit === 'ms' || n >= 10 ? Math.round(n) : Math.round(n * 10) / 10;
    if (rounded < below) return `${rounded} ${unit}`;
  }
  return `${Math.round(value / 86_400_000)} d`;
}

/** How long a step took: the same as formatDuration (kept for its callers). */
export const formatMs = formatDuration;

/** "1.9 GB", "12.0 MB", "512 kB"; "unknown size" when not known. */
export function formatBytes(n: number | undefined): string {
  if (n === undefined) return 'unknown size';
  if (n >= GB) return `${(n / GB).toFixed(1)} GB`;
  if (n >= MB) return `${(n / MB).toFixed(1)} MB`;
  return `${Math.round(n / 1024)} kB`;
}

/** A throughput: "4.1 MB/s", "512 kB/s"; "?" when not known yet. */
export function formatRate(bytesPerSecond: number | undefined): string {
  if (bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) return '?';
  return `${formatBytes(bytesPerSecond)}/s`;
}

/**
 * A span of time as a progress line shows it (elapsed, or left): "7 s", "1 min 05 s", "2 h 03 min";
 * "?" when not known. Seconds are rounded up, so work with time left never shows "0 s".
 */
export function formatEta(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  const m = Math.floor(s / 60);
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** A backup's size in listings: "1.25 GB", "12.0 MB", "?" when not known. */
export function formatBackupSize(bytes: number | undefined): string {
  if (bytes === undefined) return '?';
  return bytes >= GB ? `${(bytes / GB).toFixed(2)} GB` : `${(bytes / MB).toFixed(1)} MB`;
}

/** A Heroku timestamp ("2026-11-26 10:00:00 +0000", or ISO) in ms since the epoch; undefined when unreadable. */
export function parseTimestamp(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const t = Date.parse(text.replace(' +0000', 'Z').replace(' ', 'T'));
  return Number.isNaN(t) ? undefined : t;
}

/** Hours from `createdAt` to `now`, unrounded; undefined when the time is unreadable. */
export function hoursSince(createdAt: string | undefined, now: number = Date.now()): number | undefined {
  const t = parseTimestamp(createdAt);
  return t === undefined ? undefined : (now - t) / 3_600_000;
}

/** An age given in hours (as hoursSince and --json report them) for people: "45 s", "4 min", "2.5 h", "3 d"; "?" when unknown. */
export function formatAge(hours: number | undefined): string {
  if (hours === undefined || !Number.isFinite(hours)) return '?';
  const ms = Math.max(0, hours * 3_600_000);
  // Ages are never told in milliseconds: under a minute they are whole seconds.
  return ms < 60_000 ? `${Math.round(ms / 1000)} s` : formatDuration(ms);
}

/** Hours rounded to one decimal, as --json reports ages. */
export function roundHours(hours: number | undefined): number | undefined {
  return hours === undefined ? undefined : Math.round(hours * 10) / 10;
}

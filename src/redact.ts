/**
 * One place that masks secrets in anything drydock prints or throws.
 *
 * Two layers: a pattern that masks the password of every Postgres-style URL
 * (`scheme://user:password@host`) and `password=` pairs in libpq conninfo strings,
 * and a registry of secret values seen at run time (a password parsed from a URL,
 * HEROKU_API_KEY), so that a password echoed back by a server or a tool in some
 * other shape is masked too.
 */

/** What a masked secret looks like in output. */
export const MASK = '********';

const secrets = new Set<string>();

/** Remember a secret value so `mask` hides it wherever it appears. Short values are ignored (too many false hits). */
export function registerSecret(value: string | undefined | null): void {
  // A value inside the mask itself (say "****") would make mask() grow its own output on every pass.
  if (!value || value.length < 4 || MASK.includes(value)) return;
  secrets.add(value);
  // A password also shows up percent-encoded inside URLs.
  const encoded = encodeURIComponent(value);
  if (encoded !== value) secrets.add(encoded);
}

/** Forget every registered secret (tests only). */
export function clearSecrets(): void {
  secrets.clear();
}

// scheme://user:password@host — the user part may be empty; the password runs greedily to the last '@'
// before the path, so an unencoded '@' inside a password is masked too.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)([^\s/]*)(@[^\s@/]*)/gi;
// password=secret or password='secret' in conninfo strings, and PGPASSWORD=secret in env dumps.
const KEYWORD_PASSWORD = /\b((?:PG)?password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'&]+)/gi;

/** A quick test before KEYWORD_PASSWORD. */
const HAS_PASSWORD_WORD = /password/i;

/**
 * Mask every password in `text`. Safe to call on any string, any number of times.
 * `keywords: false` leaves `password=…` pairs alone (for data such as a schema dump, where that text
 * is SQL, not a secret); URL passwords and registered secrets are always masked.
 */
export function mask(text: string, options: { keywords?: boolean } = {}): string {
  // The patterns try every word boundary; most text (a lint report's thousands of strings) has neither shape.
  let out = !text.includes('://')
    ? text
    : text.replace(URL_PASSWORD, (_m, head: string, pw: string, tail: string) => (pw === '' || pw === MASK ? `${head}${pw}${tail}` : `${head}${MASK}${tail}`));
  if (options.keywords !== false && HAS_PASSWORD_WORD.test(out)) {
    out = out.replace(KEYWORD_PASSWORD, (_m, head: string, pw: string) => (pw === MASK ? `${head}${pw}` : `${head}${MASK}`));
  }
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
  }
  return out;
}

/** Mask secrets inside any JSON-able value (used before printing --json results). */
export function maskDeep<T>(value: T): T {
  if (typeof value === 'string') return mask(value) as T;
  // Dates, Buffers and other objects with toJSON: mask what JSON.stringify would print, not their (empty) own keys.
  if (value && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return maskDeep((value as unknown as { toJSON: () => unknown }).toJSON()) as T;
  }
  if (Array.isArray(value)) return (value as unknown[]).map((v) => maskDeep(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = maskDeep(v);
    return out as T;
  }
  return value;
}

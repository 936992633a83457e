/**
 * Injected faults: canned errors and delays for matching requests, each used up after `times`, and
 * Heroku's rate limit. Either makes the heroku CLI's transfer poll fail: the CLI gives up after 21
 * failed polls and exits 0 while the transfer may still be running (see transfers in mode 'hold').
 */
import type { FaultSpec, RateLimitSpec } from './types.js';

/** The registry of active faults, first match wins. */
export class Faults {
  private faults: Array<FaultSpec & { remaining: number }> = [];

  add(fault: FaultSpec): void {
    this.faults.push({ ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.faults = [];
  }

  /** The fault for this request, if any; counts one use. */
  take(method: string, path: string): FaultSpec | undefined {
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        (!f.method || f.method.toUpperCase() === method) &&
        (typeof f.path === 'string' ? f.path === path : f.path.test(path)),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault;
  }
}

/** The body sent for a fault with a status but no body. */
export function defaultFaultBody(status: number): unknown {
  return status >= 500
    ? { id: 'internal_server_error', message: 'Internal server error (injected by the drydock emulator).' }
    : { id: 'emulated_fault', message: `Request failed with status ${status} (injected by the drydock emulator).` };
}

/** Heroku's answer to a request over the rate limit (HTTP 429). */
export const RATE_LIMIT_BODY = {
  id: 'rate_limit',
  message: 'Your account reached the API rate limit\nPlease wait a few minutes before making new requests',
};

/**
 * Heroku's API rate limit: a budget of requests (4,500 for a real account) that refills continuously
 * (about 75 a minute). Each counted request takes one; with none left the answer is 429 rate_limit.
 * Off unless set.
 */
export class RateLimiter {
  private spec: RateLimitSpec | undefined;
  private tokens = 0;
  private updatedAt = 0;

  set(spec: RateLimitSpec | null): void {
    if (spec && (!(spec.budget >= 0) || !(spec.refillPerMinute >= 0))) throw new Error('emulator: a rate limit needs a budget and a refill rate of 0 or more');
    this.spec = spec ?? undefined;
    this.tokens = spec?.budget ?? 0;
    this.updatedAt = Date.now();
  }

  /**
   * Count one request. Undefined when the limit is off or does not apply to `path`; else whether it is
   * allowed and what is left (Heroku's RateLimit-Remaining header).
   */
  take(path: string): { allowed: boolean; remaining: number } | undefined {
    const spec = this.spec;
    if (!spec || (spec.path && !spec.path.test(path))) return undefined;
    const now = Date.now();
    this.tokens = Math.min(spec.budget, this.tokens + ((now - this.updatedAt) / 60_000) * spec.refillPerMinute);
    this.updatedAt = now;
    if (this.tokens < 1) return { allowed: false, remaining: 0 };
    this.tokens -= 1;
    return { allowed: true, remaining: Math.floor(this.tokens) };
  }
}

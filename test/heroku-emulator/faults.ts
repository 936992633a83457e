/** Injected faults: canned errors and delays for matching requests, each used up after `times`. */
import type { FaultSpec } from './types.js';

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

/**
 * The standalone emulator's flags for what real Heroku does that a local setup would not (main.ts
 * parses the rest): plans, databases over TLS, apps the account may not see, canned HTTP faults.
 * Kept apart from main.ts so each model's flags stay next to their help text.
 */
import type { EmulatedAppSpec, EmulatorOptions, FaultSpec } from './types.js';

/** What these flags asked for. */
export interface RealismArgs {
  /** --plan NAME=PLAN, applied to the apps once all are parsed. */
  plans: Map<string, string>;
  tls: boolean;
  tlsHost: string | undefined;
  deny: string[];
  faults: FaultSpec[];
}

/** The --help section of these flags. */
export const REALISM_HELP = `Heroku as it really behaves
  --plan NAME=PLAN          the app's plan, e.g. essential-0 (default standard-0). pg:info then
                            reports the plan's connection limit ("Connections: 3/20"), fork/follow
                            and rollback (Unsupported on Essential), Continuous Protection (On from
                            Standard up, when capture warns about large logical backups)
  --tls                     publish every database over TLS under a host name that is not localhost
                            (this machine's name when it resolves to loopback, else 127.0.0.2);
                            DATABASE_URL then names that host, and connections without SSL are
                            refused as on Heroku ("no pg_hba.conf entry … no encryption")
  --tls-host HOST           the host name (or 127.x address) to publish under; must resolve to loopback
  --deny NAME               answer every request about app NAME with 403 forbidden
                            ("You do not have access to the app NAME.")
  --fault 'METHOD PATH STATUS[xN]'
                            answer METHOD (or *) PATH (a regular expression on the whole path) with
                            STATUS, N times (default always): e.g. --fault 'GET /apps/myapp/config-vars 503x2'
  Always on: one transfer per database at a time (another capture or restore meanwhile gets
  409 "a transfer is currently in progress").`;

const PLAN = /^(heroku-postgresql:)?[a-z]+(-[a-z0-9]+)*$/;

export function newRealismArgs(): RealismArgs {
  return { plans: new Map(), tls: false, tlsHost: undefined, deny: [], faults: [] };
}

/** Parse `flag` when it is one of these (`value` reads its value); false for other flags. Throws on a bad value. */
export function parseRealismFlag(flag: string, value: () => string, args: RealismArgs): boolean {
  switch (flag) {
    case '--plan': {
      const spec = value();
      const [name = '', plan = ''] = spec.split('=', 2);
      if (!name || !PLAN.test(plan)) throw new Error('--plan expects NAME=PLAN, such as myapp=essential-0');
      args.plans.set(name, plan);
      return true;
    }
    case '--tls':
      args.tls = true;
      return true;
    case '--tls-host':
      args.tls = true;
      args.tlsHost = value();
      return true;
    case '--deny':
      args.deny.push(value());
      return true;
    case '--fault': {
      const v = value();
      const m = /^([A-Z]+|\*)\s+(\S+)\s+(\d{3})(?:x(\d+))?$/.exec(v.trim());
      if (!m) throw new Error(`--fault expects 'METHOD PATH STATUS[xN]', such as 'GET /apps/myapp/config-vars 503x2', got "${v}"`);
      let path: RegExp;
      try {
        path = new RegExp(`^(?:${m[2]})$`);
      } catch {
        throw new Error(`--fault: "${m[2]}" is not a regular expression`);
      }
      args.faults.push({ ...(m[1] === '*' ? {} : { method: m[1] }), path, status: Number(m[3]), ...(m[4] ? { times: Number(m[4]) } : {}) });
      return true;
    }
    default:
      return false;
  }
}

/** Put the --plan values on the apps (an unknown app is an error). */
export function applyPlans(args: RealismArgs, apps: EmulatedAppSpec[]): void {
  for (const [name, plan] of args.plans) {
    const app = apps.find((a) => a.name === name);
    if (!app) throw new Error(`--plan ${name}: no --app ${name}`);
    app.plan = plan;
  }
}

/** The startEmulator options these flags set (faults are injected once it runs). */
export function realismOptions(args: RealismArgs): Pick<EmulatorOptions, 'tls' | 'deny'> {
  return { ...(args.tls ? { tls: args.tlsHost ? { host: args.tlsHost } : true } : {}), deny: args.deny };
}

/**
 * Which production copy a rehearsal runs on (pure): the working database reset from its pristine
 * snapshot when that snapshot is younger than --max-age, else a fresh pull when rehearse knows where
 * from (-a APP or --from-url), else a refusal naming the pull to run.
 */
import { ConfigError } from '../errors.js';
import { formatAge, formatDuration } from '../format.js';

/** The snapshot `drydock pull` keeps of its working database. */
export const PRISTINE = 'pristine';

/** What to do before rehearsing. */
export type CopyPlan =
  | { action: 'reset' }
  /** `because`: "no pristine snapshot", "pristine snapshot was 30 h old". */
  | { action: 'pull'; because: string };

export interface CopyFacts {
  /** The working database's pristine snapshot, when it has one, and its age (hours, unrounded). */
  pristine: { target: string; ageHours: number } | undefined;
  maxAgeMs: number;
  /** What a pull would copy ("my-app", "the --from-url database"); undefined when rehearse cannot pull. */
  pullFrom: string | undefined;
  /** The working database, as far as it is known (for the messages). */
  target: string | undefined;
  /** --to as given (repeated in the commands the refusals name). */
  to: string | undefined;
}

/** Reset, pull, or refuse (throws ConfigError: exit 2, nothing changed). */
export function planCopy(facts: CopyFacts): CopyPlan {
  const { pristine, maxAgeMs, pullFrom } = facts;
  if (pristine && pristine.ageHours * 3_600_000 <= maxAgeMs) return { action: 'reset' };
  const letItPull = 'or let rehearse pull it: `drydock rehearse -a APP` (or `--from-url URL`)';
  const toFlag = facts.to ? ` --to ${facts.to}` : pristine ? ` --to ${pristine.target}` : '';
  if (!pristine) {
    if (pullFrom) return { action: 'pull', because: `no ${PRISTINE} snapshot` };
    throw new ConfigError(`no ${PRISTINE} snapshot${facts.target ? ` of ${facts.target}` : ''}: rehearse needs a production copy to reset from`, {
      hint: `pull one first: \`drydock pull -a APP${toFlag}\`, ${letItPull}`,
    });
  }
  if (pullFrom) return { action: 'pull', because: `${PRISTINE} snapshot was ${formatAge(pristine.ageHours)} old` };
  throw new ConfigError(`the ${PRISTINE} snapshot of ${pristine.target} is ${formatAge(pristine.ageHours)} old, older than --max-age ${formatDuration(maxAgeMs)}`, {
    hint: `pull a fresh copy first: \`drydock pull -a APP${toFlag}\`, ${letItPull}, or raise --max-age`,
  });
}

/** What the rehearsal says about its copy, in one line: "… reset from its pristine snapshot (data 2 h old)". */
export function describeCopyMade(copy: { database: string; reset: 'snapshot' | 'pulled'; ageSeconds: number; pulledFrom?: string | undefined; pulledBecause?: string | undefined }): string {
  if (copy.reset === 'pulled') return `${copy.database}: pulled a fresh copy from ${copy.pulledFrom ?? 'production'} (${copy.pulledBecause ?? 'no usable snapshot'})`;
  return `${copy.database} reset from its ${PRISTINE} snapshot (data ${formatAge(copy.ageSeconds / 3600)} old)`;
}

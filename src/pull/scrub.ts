/**
 * --scrub: the user's anonymising SQL, run on the verified scratch copy before it becomes the working
 * database or its pristine snapshot, so neither ever holds production's unscrubbed data.
 */
import { DrydockError, ToolError } from '../errors.js';
import type { PgTools } from '../pg/pg-tools.js';
import type { DbUrl } from '../pg/url.js';

/**
 * Run `file` in one transaction on the scratch copy `scratch`. A failure says what it means for the
 * user: the working database `target` (and its snapshot) were not changed, and the copy is discarded.
 */
export async function scrubCopy(pgTools: PgTools, scratch: DbUrl, file: string, target: string): Promise<void> {
  try {
    await pgTools.psqlFile(scratch, file, { singleTransaction: true });
  } catch (error) {
    if (!(error instanceof DrydockError)) throw error;
    const hint = `${target} and its snapshots were not changed, and the unscrubbed copy is discarded: fix ${file} and run the pull again`;
    if (error instanceof ToolError) {
      throw new ToolError(`scrub failed on the new copy, before the swap: ${error.message}`, { command: error.command, toolExitCode: error.toolExitCode, stderrTail: error.stderrTail }, { hint, cause: error });
    }
    throw new DrydockError(`scrub failed on the new copy, before the swap: ${error.message}`, { hint, cause: error });
  }
}

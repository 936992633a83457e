/**
 * The app's own commands (`bin/rails db:migrate`, a seed task), for apps that migrate with their framework.
 */
import { run } from '../exec.js';
import type { Output } from '../output.js';

/**
 * Run one of the app's own commands through `sh -c`, with the app's whole environment and DATABASE_URL
 * pointing at `databaseUrl`, streaming its output as log lines.
 */
export async function runAppCommand(output: Output, command: string, label: string, databaseUrl: string | undefined): Promise<void> {
  await run('sh', ['-c', command], {
    inheritEnv: true,
    ...(databaseUrl ? { env: { DATABASE_URL: databaseUrl } } : {}),
    timeoutMs: 60 * 60_000,
    label,
    onStdoutLine: (line) => output.info(line),
    onStderrLine: (line) => output.info(line),
  });
}

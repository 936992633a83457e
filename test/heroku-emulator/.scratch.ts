import { createTestDb } from '../helpers/db.js';
import { runHeroku } from '../helpers/heroku.js';
import { startEmulator } from './index.js';

const db = await createTestDb('scratch');
await db.query(`CREATE TABLE widgets (id serial PRIMARY KEY, name text); INSERT INTO widgets (name) SELECT 'w'||g FROM generate_series(1,100) g`);
const emu = await startEmulator({ apps: [{ name: 'scratch', databaseUrl: db.localhostUrl }] });
try {
  const show = async (args: string[], timeoutMs = 60_000) => {
    const t = Date.now();
    const r = await runHeroku(emu, args, { timeoutMs }).catch((e) => ({ exitCode: -1, stdout: "", stderr: String(e.stderrTail) }));
    console.log(`\n##### heroku ${args.join(' ')} → exit ${r.exitCode} in ${Date.now() - t} ms\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
    return r;
  };
  await show(['pg:backups:capture', '-a', 'scratch', '--verbose']);
  emu.setTransferBehavior('scratch', { capture: 'slow', delayMs: 4000 });
//  await show(['pg:backups:capture', '-a', 'scratch', '--verbose']);
  emu.setTransferBehavior('scratch', { capture: 'pending', restore: 'fail' });
  await show(['pg:backups:capture', '-a', 'scratch', '--verbose'], 5000);
  await show(['pg:backups:info', '-a', 'scratch']);
  await show(['pg:backups:restore', 'b001', 'DATABASE_URL', '-a', 'scratch', '--confirm', 'scratch', '--verbose']);
  await show(['pg:backups:restore', 'b001', 'DATABASE_URL', '-a', 'scratch', '--confirm', 'wrong']);
  await show(['pg:backups:restore', 'b009', 'DATABASE_URL', '-a', 'scratch', '--confirm', 'scratch']);
  await show(['pg:backups:info', 'b009', '-a', 'scratch']);
  await show(['pg:backups:url', 'b003', '-a', 'scratch']);
  await show(['pg:backups', '-a', 'scratch']);
  await show(['ps:scale', 'web=2', 'worker=1', '-a', 'scratch']);
  await show(['maintenance:on', '-a', 'scratch']);
} finally {
  await emu.stop();
  await db.drop();
}

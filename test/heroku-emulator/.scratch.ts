import { writeFileSync } from 'node:fs';
import { createTestDb } from '../helpers/db.js';
import { runHeroku } from '../helpers/heroku.js';
import { startEmulator } from './index.js';

const db = await createTestDb('scratch');
await db.query(`CREATE TABLE widgets (id serial PRIMARY KEY, name text); INSERT INTO widgets (name) SELECT 'w'||g FROM generate_series(1,100) g`);
const emu = await startEmulator({ apps: [{ name: 'scratch', databaseUrl: db.localhostUrl, formation: { web: 2, worker: 0, clock: 1 } }] });
try {
  const show = async (file: string, args: string[], timeoutMs = 60_000) => {
    const r = await runHeroku(emu, args, { timeoutMs }).catch((e) => ({ exitCode: -1, stdout: '', stderr: String(e.stderrTail) }));
    writeFileSync(`/tmp/dd-scratch/${file}.out`, r.stdout);
    writeFileSync(`/tmp/dd-scratch/${file}.err`, r.stderr);
    console.log(file, r.exitCode);
    return r;
  };
  await emu.addBackup('scratch', { ageMs: 3 * 86400_000 });
  await show('capture-ok', ['pg:backups:capture', '-a', 'scratch', '--verbose']);
  emu.setTransferBehavior('scratch', { capture: 'fail' });
  await show('capture-fail', ['pg:backups:capture', '-a', 'scratch', '--verbose']);
  emu.setTransferBehavior('scratch', { capture: 'pending' });
  await show('capture-pending', ['pg:backups:capture', '-a', 'scratch', '--verbose'], 4000);
  await show('restore-ok', ['pg:backups:restore', 'b002', 'DATABASE_URL', '-a', 'scratch', '--confirm', 'scratch', '--verbose']);
  emu.setTransferBehavior('scratch', { restore: 'fail' });
  await show('restore-fail', ['pg:backups:restore', 'b002', 'DATABASE_URL', '-a', 'scratch', '--confirm', 'scratch', '--verbose']);
  emu.setTransferBehavior('scratch', { capture: 'slow', delayMs: 60_000 });
  void show('capture-slow', ['pg:backups:capture', '-a', 'scratch'], 8000);
  await new Promise((r) => setTimeout(r, 4000));
  await show('list', ['pg:backups', '-a', 'scratch']);
  await show('info-ok', ['pg:backups:info', 'b002', '-a', 'scratch']);
  await show('info-fail', ['pg:backups:info', 'b003', '-a', 'scratch']);
  await show('info-pending', ['pg:backups:info', 'b004', '-a', 'scratch']);
  await show('info-running', ['pg:backups:info', 'b007', '-a', 'scratch']);
  await show('info-restore', ['pg:backups:info', 'r005', '-a', 'scratch']);
  await show('scale', ['ps:scale', '-a', 'scratch']);
} finally {
  await emu.stop();
  await db.drop();
}

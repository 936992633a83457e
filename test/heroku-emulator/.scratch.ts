import { createTestDb } from '../helpers/db.js';
import { runHeroku } from '../helpers/heroku.js';
import { startEmulator } from './index.js';
import { statSync } from 'node:fs';

const db = await createTestDb('scratch');
await db.query(`CREATE TABLE widgets (id serial PRIMARY KEY, name text); INSERT INTO widgets (name) SELECT 'w'||g FROM generate_series(1,100) g`);
const emu = await startEmulator({ apps: [{ name: 'scratch', databaseUrl: db.localhostUrl }] });
try {
  const b = await emu.addBackup('scratch');
  console.log(b);
  for (const fault of [{ kind: 'truncate' }, { kind: 'corrupt' }, { kind: 'status', status: 503 }] as const) {
    emu.setDownloadFault({ ...fault, times: 1 });
    const out = `/tmp/dd-scratch/dl-${fault.kind}.dump`;
    const r = await runHeroku(emu, ['pg:backups:download', 'b001', '-a', 'scratch', '-o', out]);
    console.log(fault.kind, r.exitCode, r.stderr.trim(), statSync(out).size);
  }
  console.log(emu.requests.filter((r) => r.path.startsWith('/backups')));
} finally {
  await emu.stop();
  await db.drop();
}

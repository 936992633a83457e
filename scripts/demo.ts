/**
 * `npm run demo`: the main job end to end on an embedded default.
 *
 * 1. A PostgreSQL server: the local one (DRYDOCK_DEMO_DATABASE_URL, DRYDOCK_TEST_DATABASE_URL, else
 *    postgres://postgres@127.0.0.1:5432/postgres), or an embedded PostgreSQL started for the demo
 *    when none is reachable.
 * 2. An emulated Heroku app `drydock-demo` whose production database holds the demo chat schema
 *    (the first migrations in scripts/demo/migrations) and about 100k rows.
 * 3. drydock driven against it through the real heroku CLI: doctor; then the deploy: `drydock release`
 *    (the Procfile's release line) applies the pending migrations, and `drydock backfill` fills the column
 *    they added (dry run, then the batches); a review app's fresh database is
 *    set up by `drydock postdeploy` (app.json); `drydock migrate redo` proves the newest migration
 *    rolls back cleanly; then the data side: `drydock backups capture`, `drydock pull` of production into
 *    a local database, a `drydock snapshot restore` reset after a destructive rehearsal, `drydock rehearse`
 *    of three new migrations on that copy (verdicts, locks, blocking, reversibility; one a
 *    `-- drydock:backfill` migration), and a guarded
 *    `drydock restore` of a backup after an "incident", with its safety backup; last, the duplicates a
 *    unique key on users.twitter_id would refuse: `drydock dupes` reports them on the copy, `--generate`
 *    writes the migrations, `drydock rehearse` proves them, `drydock release` ships them.
 *
 * `--keep` leaves the demo database and emulator running (Ctrl-C to stop).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import pg from 'pg';

import { startEmulator, type Emulator } from '../test/heroku-emulator/index.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../test/helpers/embedded-pg.js';
import { seedChatData } from './lib/seed.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = resolve(ROOT, 'dist/cli.js');
const HEROKU = resolve(ROOT, 'node_modules/.bin/heroku');
const APP = 'drydock-demo';
const DEMO_DB = 'drydock_demo_production';
const REVIEW_DB = 'drydock_demo_review';
const LOCAL_DB = 'drydock_demo_local';
const ADOPT_DB = 'drydock_demo_adopt';
const MIGRATIONS = resolve(ROOT, 'scripts/demo/migrations');
/** The production database starts at this version; release applies the rest. */
const PRODUCTION_VERSION = '20260201000000';

function banner(text: string): void {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
}

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function withDb(url: string, db: string, host?: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  if (host) u.hostname = host;
  return u.toString();
}

/** Run a command with inherited output; resolves with its exit code. */
function show(label: string, file: string, args: string[], env: Record<string, string>): Promise<number> {
  process.stdout.write(`\n$ ${label}\n`);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => resolvePromise(code ?? 1));
  });
}

async function main(): Promise<number> {
  const keep = process.argv.includes('--keep');
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm run demo does)');

  banner('1. PostgreSQL server');
  let serverUrl = process.env.DRYDOCK_DEMO_DATABASE_URL || process.env.DRYDOCK_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  let embedded: EmbeddedPostgres | undefined;
  if (await reachable(serverUrl)) {
    console.log(`using the local server at ${new URL(serverUrl).host}`);
  } else {
    console.log(`no server reachable at ${new URL(serverUrl).host}: starting an embedded PostgreSQL for the demo`);
    embedded = await startEmbeddedPostgres();
    serverUrl = embedded.url;
    console.log(`embedded PostgreSQL ${embedded.version} on port ${embedded.port}`);
  }

  let emulator: Emulator | undefined;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    banner('2. Production database: migrated to ' + PRODUCTION_VERSION + ' and filled with data');
    for (const db of [DEMO_DB, REVIEW_DB, LOCAL_DB, ADOPT_DB]) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DEMO_DB}`);
    const prodUrl = withDb(serverUrl, DEMO_DB);
    const migrateCode = await show(`drydock migrate --to ${PRODUCTION_VERSION}`, process.execPath, [CLI, 'migrate', '--to', PRODUCTION_VERSION, '--dir', MIGRATIONS], { CI: 'true', DATABASE_URL: prodUrl });
    if (migrateCode !== 0) return migrateCode;
    const prod = new pg.Client({ connectionString: prodUrl });
    await prod.connect();
    const started = Date.now();
    const counts = await seedChatData(prod);
    await prod.end();
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(`seeded ${total.toLocaleString('en-US')} rows in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(counts)}`);

    // The heroku CLI needs host `localhost` to skip SSL for pg:psql / pg:pull.
    const databaseUrl = withDb(serverUrl, DEMO_DB, new URL(serverUrl).hostname === '127.0.0.1' ? 'localhost' : undefined);
    emulator = await startEmulator({ apps: [{ name: APP, databaseUrl, formation: { web: 1, worker: 1 } }] });
    console.log(`Heroku emulator on ${emulator.url} with app ${APP}`);
    const env = { ...emulator.env, DRYDOCK_HEROKU_BIN: HEROKU, DRYDOCK_LOCAL_DATABASE_URL: serverUrl, PATH: `${dirname(HEROKU)}:${process.env.PATH ?? ''}` };

    banner('3. The real heroku CLI sees the emulated app');
    await show(`heroku pg:info -a ${APP}`, HEROKU, ['pg:info', '-a', APP], env);

    banner('4. drydock doctor: can this machine pull production and rehearse faithfully?');
    const doctorCode = await show(`drydock doctor -a ${APP}`, process.execPath, [CLI, 'doctor', '-a', APP], env);
    console.log(`\n(drydock doctor exited ${doctorCode}: 0 ready, 1 a check failed, 2 could not find out)`);
    if (doctorCode !== 0 && doctorCode !== 1) return doctorCode;

    banner('5. Deploy: the release phase (Procfile `release: npx --no drydock release`) applies the pending migrations');
    const releaseEnv = { CI: 'true', DATABASE_URL: prodUrl, DYNO: 'release.1' };
    const releaseCode = await show('DATABASE_URL=$(heroku config:get DATABASE_URL) drydock release', process.execPath, [CLI, 'release', '--dir', MIGRATIONS], releaseEnv);
    if (releaseCode !== 0) return releaseCode;
    await show('drydock release   # the next deploy: nothing pending', process.execPath, [CLI, 'release', '--dir', MIGRATIONS], releaseEnv);

    banner('5b. drydock verify: production holds what the migrations say, nothing half-done, and is healthy');
    const verifyCode = await show(`drydock verify -a ${APP}`, process.execPath, [CLI, 'verify', '-a', APP, '--dir', MIGRATIONS], env);
    if (verifyCode !== 0) return verifyCode;
    const hand = new pg.Client({ connectionString: prodUrl });
    await hand.connect();
    await hand.query('ALTER TABLE messages ADD COLUMN hotfix_flag boolean');
    const driftCode = await show(`drydock verify -a ${APP}   # after someone ran ALTER TABLE messages ADD COLUMN hotfix_flag boolean by hand`, process.execPath, [CLI, 'verify', '-a', APP, '--dir', MIGRATIONS, '--skip', 'unindexed-foreign-key'], env);
    console.log(`(exited ${driftCode}: the column made by hand is drift the migrations do not have)`);
    await hand.query('ALTER TABLE messages DROP COLUMN hotfix_flag');
    await hand.end();
    if (driftCode !== 1) return driftCode || 2;

    banner('5c. After the deploy: backfill the new column in short keyset batches (dry run first)');
    const backfillArgs = ['backfill', 'messages', '--set', 'edited_at = created_at', '--where', 'edited_at IS NULL', '--batch-time', '100ms'];
    const dryBackfill = await show('drydock backfill messages --set "edited_at = created_at" --where "edited_at IS NULL" --dry-run', process.execPath, [CLI, ...backfillArgs, '--dry-run'], releaseEnv);
    if (dryBackfill !== 0) return dryBackfill;
    const backfillCode = await show('drydock backfill messages --set "edited_at = created_at" --where "edited_at IS NULL" --batch-time 100ms', process.execPath, [CLI, ...backfillArgs], releaseEnv);
    if (backfillCode !== 0) return backfillCode;

    banner('6. A review app: postdeploy (app.json) sets up its fresh database; it refuses production');
    await admin.query(`CREATE DATABASE ${REVIEW_DB}`);
    const reviewUrl = withDb(serverUrl, REVIEW_DB);
    const reviewEnv = { CI: 'true', DATABASE_URL: reviewUrl };
    const pdCode = await show('drydock postdeploy', process.execPath, [CLI, 'postdeploy', '--dir', MIGRATIONS, '--seed', resolve(ROOT, 'scripts/demo/seeds.sql')], reviewEnv);
    if (pdCode !== 0) return pdCode;
    const refused = await show('DATABASE_URL=<production> drydock postdeploy   # must refuse', process.execPath, [CLI, 'postdeploy', '--dir', MIGRATIONS], { CI: 'true', DATABASE_URL: prodUrl });
    console.log(`(postdeploy on production exited ${refused} and changed nothing)`);

    banner('7. drydock migrate redo: the newest migration rolls back and re-applies to the same schema');
    const redoCode = await show('drydock migrate redo', process.execPath, [CLI, 'migrate', 'redo', '--dir', MIGRATIONS], reviewEnv);
    if (redoCode !== 0) return redoCode;
    await show('drydock migrate status', process.execPath, [CLI, 'migrate', 'status', '--dir', MIGRATIONS], reviewEnv);

    banner('7b. Adopting drydock on a database another tool migrated (a Rails ledger): baseline, then status');
    await admin.query(`CREATE DATABASE ${ADOPT_DB}`);
    const adoptUrl = withDb(serverUrl, ADOPT_DB);
    const adopt = new pg.Client({ connectionString: adoptUrl });
    await adopt.connect();
    await adopt.query(`CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
      INSERT INTO schema_migrations SELECT to_char(timestamp '2024-01-01' + n * interval '1 day', 'YYYYMMDDHH24MISS') FROM generate_series(0, 11) n;
      CREATE TABLE accounts (id bigserial PRIMARY KEY, email text NOT NULL)`);
    await adopt.end();
    const adoptEnv = { CI: 'true', DATABASE_URL: adoptUrl };
    await show('drydock migrate status   # 12 versions Rails recorded: another tool\'s, not errors', process.execPath, [CLI, 'migrate', 'status', '--dir', MIGRATIONS], adoptEnv);
    const baselineCode = await show('drydock migrate baseline 20240112000000', process.execPath, [CLI, 'migrate', 'baseline', '20240112000000', '--dir', MIGRATIONS], adoptEnv);
    if (baselineCode !== 0) return baselineCode;
    await show('drydock migrate status   # everything up to the baseline counts as applied', process.execPath, [CLI, 'migrate', 'status', '--dir', MIGRATIONS], adoptEnv);

    banner('8. Backups: capture one and list them');
    const cache = await mkdtemp(join(tmpdir(), 'drydock-demo-cache-'));
    const dataEnv = { ...env, CI: 'true', DRYDOCK_CACHE_DIR: cache };
    const captureCode = await show(`drydock backups capture -a ${APP}`, process.execPath, [CLI, 'backups', 'capture', '-a', APP], dataEnv);
    if (captureCode !== 0) return captureCode;
    await show(`drydock backups list -a ${APP}`, process.execPath, [CLI, 'backups', 'list', '-a', APP], dataEnv);

    banner('9. Pull production into a local database to rehearse on real data');
    const pullCode = await show(`drydock pull -a ${APP} --from backup --to ${LOCAL_DB}`, process.execPath, [CLI, 'pull', '-a', APP, '--from', 'backup', '--to', LOCAL_DB], dataEnv);
    if (pullCode !== 0) return pullCode;

    const diffCode = await show(`drydock diff heroku:${APP} ${LOCAL_DB}   # production against the local copy`, process.execPath, [CLI, 'diff', `heroku:${APP}`, LOCAL_DB], dataEnv);
    if (diffCode !== 0) return diffCode;

    banner('10. A destructive rehearsal, then a reset from the pristine snapshot in seconds');
    const local = new pg.Client({ connectionString: withDb(serverUrl, LOCAL_DB) });
    await local.connect();
    await local.query('DELETE FROM messages');
    console.log(`rehearsal deleted every message: ${(await local.query<{ n: string }>('SELECT count(*) AS n FROM messages')).rows[0]?.n} left`);
    await local.end();
    const resetCode = await show(`drydock snapshot restore pristine --to ${LOCAL_DB}`, process.execPath, [CLI, 'snapshot', 'restore', 'pristine', '--to', LOCAL_DB], dataEnv);
    if (resetCode !== 0) return resetCode;
    const after = new pg.Client({ connectionString: withDb(serverUrl, LOCAL_DB) });
    await after.connect();
    console.log(`after the reset: ${(await after.query<{ n: string }>('SELECT count(*) AS n FROM messages')).rows[0]?.n} messages`);
    await after.end();

    banner('10b. Rehearse the next migrations on the copy: what production would feel, and whether they roll back');
    // New migrations on top of the demo's: an index built without CONCURRENTLY (blocks writes to
    // messages while it builds) and the same done concurrently. A low threshold makes the small demo table count.
    const nextMigrations = await mkdtemp(join(tmpdir(), 'drydock-demo-next-'));
    await cp(MIGRATIONS, nextMigrations, { recursive: true });
    await writeFile(join(nextMigrations, '20260401000000_index_messages_body.sql'), '-- migrate:up\nCREATE INDEX messages_body_idx ON messages (body, metadata);\n\n-- migrate:down\nDROP INDEX messages_body_idx;\n');
    await writeFile(join(nextMigrations, '20260402000000_index_messages_created_at.sql'), '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY messages_created_at_idx ON messages (created_at);\n\n-- migrate:down\nDROP INDEX messages_created_at_idx;\n');
    // A data change as its own migration: the backfill engine runs it in batches, rehearse measures it.
    await writeFile(
      join(nextMigrations, '20260403000000_backfill_messages_metadata.sql'),
      `-- migrate:up transaction:false\n-- drydock:backfill messages --set "metadata = metadata || jsonb_build_object('v', 2)"\n\n-- migrate:down transaction:false\n-- drydock:backfill messages --set "metadata = metadata - 'v'"\n`,
    );
    const rehearseCode = await show(`drydock rehearse --to ${LOCAL_DB} --dir <demo migrations + 3 new> --block-threshold 20ms`, process.execPath, [CLI, 'rehearse', '--to', LOCAL_DB, '--dir', nextMigrations, '--block-threshold', '20ms'], dataEnv);
    await rm(nextMigrations, { recursive: true, force: true });
    if (rehearseCode === 1) console.log('(exited 1, as expected: the index built without CONCURRENTLY would block writes to messages in production)');
    else if (rehearseCode !== 0) return rehearseCode;

    banner('11. On call: an incident deletes production rows; a guarded restore brings them back');
    const prodClient = new pg.Client({ connectionString: prodUrl });
    await prodClient.connect();
    await prodClient.query('DELETE FROM room_participants WHERE room_id > 10');
    console.log(`incident: room_participants now has ${(await prodClient.query<{ n: string }>('SELECT count(*) AS n FROM room_participants')).rows[0]?.n} rows`);
    const refusedRestore = await show(`drydock restore b001 -a ${APP}   # no --confirm: refused`, process.execPath, [CLI, 'restore', 'b001', '-a', APP], dataEnv);
    console.log(`(exited ${refusedRestore}; nothing was changed)`);
    const restoreCode = await show(`drydock restore b001 -a ${APP} --confirm ${APP} --maintenance --scale-down worker`, process.execPath, [CLI, 'restore', 'b001', '-a', APP, '--confirm', APP, '--maintenance', '--scale-down', 'worker'], dataEnv);
    console.log(`after the restore: room_participants has ${(await prodClient.query<{ n: string }>('SELECT count(*) AS n FROM room_participants')).rows[0]?.n} rows`);
    await prodClient.end();
    await rm(cache, { recursive: true, force: true });
    if (restoreCode !== 0) return restoreCode;

    banner('12. Duplicates before a unique key: report, generate, rehearse, release');
    // The seed gives about 1 % of users a twitter_id another user has; rooms, room_participants (its own
    // primary key (room_id, user_id): re-pointing can collide) and messages point at users.
    const dupesCode = await show(`drydock dupes users twitter_id --to ${LOCAL_DB}`, process.execPath, [CLI, 'dupes', 'users', 'twitter_id', '--to', LOCAL_DB], dataEnv);
    if (dupesCode !== 1) return dupesCode === 0 ? 2 : dupesCode;
    console.log('(exited 1: duplicates found)');
    const dedupe = await mkdtemp(join(tmpdir(), 'drydock-demo-dupes-'));
    await cp(MIGRATIONS, dedupe, { recursive: true });
    const generateCode = await show(`drydock dupes users twitter_id --to ${LOCAL_DB} --keep most-referenced --generate dedupe_users_twitter_id --constraint`, process.execPath, [CLI, 'dupes', 'users', 'twitter_id', '--to', LOCAL_DB, '--keep', 'most-referenced', '--generate', 'dedupe_users_twitter_id', '--constraint', '--dir', dedupe], dataEnv);
    if (generateCode !== 0) return generateCode;
    const dedupeRehearsal = await show(`drydock rehearse --to ${LOCAL_DB}   # the three generated migrations`, process.execPath, [CLI, 'rehearse', '--to', LOCAL_DB, '--dir', dedupe, '--no-fresh'], dataEnv);
    if (dedupeRehearsal !== 0) return dedupeRehearsal;
    const dedupeRelease = await show('drydock release   # the next deploy ships them', process.execPath, [CLI, 'release', '--dir', dedupe], releaseEnv);
    if (dedupeRelease !== 0) return dedupeRelease;
    await show(`drydock dupes users twitter_id --url <production>`, process.execPath, [CLI, 'dupes', 'users', 'twitter_id', '--url', prodUrl], dataEnv);
    await rm(dedupe, { recursive: true, force: true });

    banner('Demo complete');
    if (keep) {
      console.log('--keep: the emulator and the demo database stay up. Point the heroku CLI at them with:');
      for (const [k, v] of Object.entries(emulator.env)) console.log(`export ${k}=${JSON.stringify(v)}`);
      console.log('Press Ctrl-C to stop.');
      await new Promise<void>((r) => process.once('SIGINT', () => r()));
    }
    return 0;
  } finally {
    await emulator?.stop();
    if (!keep) {
      // `snapshot rm` waits for a background spare being prepared, then removes it with the snapshot.
      await new Promise<void>((r) => {
        const child = spawn(process.execPath, [CLI, 'snapshot', 'rm', 'pristine', '--to', LOCAL_DB], { env: { ...process.env, CI: 'true', DRYDOCK_LOCAL_DATABASE_URL: serverUrl }, stdio: 'ignore' });
        child.on('exit', () => r());
        child.on('error', () => r());
      });
      const copies = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE $1`, [`%"target":"${LOCAL_DB}"%`]).catch(() => ({ rows: [] as Array<{ datname: string }> }));
      for (const { datname } of copies.rows) {
        await admin.query(`ALTER DATABASE "${datname}" WITH IS_TEMPLATE false ALLOW_CONNECTIONS true`).catch(() => undefined);
        await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
      }
      for (const db of [DEMO_DB, REVIEW_DB, LOCAL_DB, ADOPT_DB]) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    }
    await admin.end().catch(() => undefined);
    await embedded?.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`demo failed: ${(error as Error).message}`);
    process.exitCode = 2;
  },
);

import * as lib from 'libpg-query';
await lib.loadModule();
const sql = process.argv[2];
const r = lib.parseSync(sql);
for (const s of r.stmts) console.log(JSON.stringify(s.stmt));

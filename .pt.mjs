import * as lib from 'libpg-query';
await lib.loadModule();
const sql = process.argv[2];
console.log(JSON.stringify(lib.parseSync(sql), null, 1));

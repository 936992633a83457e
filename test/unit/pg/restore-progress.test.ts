import { describe, expect, it } from 'vitest';

import { RestoreItemCounter } from '../../../src/pg/restore-progress.js';

/** pg_restore 15 --verbose of an archive with 10 items (`pg_restore -l` lists 10), run serially. */
const SERIAL = `pg_restore: connecting to database for restore
pg_restore: creating TABLE "public.a"
pg_restore: creating COMMENT "public.TABLE a"
pg_restore: creating TABLE "public.b"
pg_restore: creating SEQUENCE "public.s"
pg_restore: processing data for table "public.a"
pg_restore: processing data for table "public.b"
pg_restore: executing SEQUENCE SET s
pg_restore: creating CONSTRAINT "public.a a_pkey"
pg_restore: creating INDEX "public.a_t_idx"
pg_restore: creating FK CONSTRAINT "public.b b_id_fkey"`;

/** The same archive with --jobs=2: numbered items, the workers' own lines, and two lines interleaved. */
const PARALLEL = `pg_restore: connecting to database for restore
pg_restore: processing item 3352 ENCODING ENCODING
pg_restore: processing item 3353 STDSTRINGS STDSTRINGS
pg_restore: processing item 3354 SEARCHPATH SEARCHPATH
pg_restore: processing item 3355 DATABASE prog_exp_src
pg_restore: processing item 214 TABLE a
pg_restore: creating TABLE "public.a"
pg_restore: processing item 3356 COMMENT TABLE a
pg_restore: creating COMMENT "public.TABLE a"
pg_restore: processing item 215 TABLE b
pg_restore: creating TABLE "public.b"
pg_restore: processing item 216 SEQUENCE s
pg_restore: creating SEQUENCE "public.s"
pg_restore: entering main parallel loop
pg_restore: launching item 3347 TABLE DATA a
pg_restore: launching item 3348 TABLE DATA b
pg_restore:pg_restore:  processing data for table "public.b"
processing data for table "public.a"
pg_restore: finished item 3348 TABLE DATA b
pg_restore: launching item 3357 SEQUENCE SET s
pg_restore: executing SEQUENCE SET s
pg_restore: finished item 3357 SEQUENCE SET s
pg_restore: finished item 3347 TABLE DATA a
pg_restore: launching item 3202 CONSTRAINT a a_pkey
pg_restore: creating CONSTRAINT "public.a a_pkey"
pg_restore: finished item 3202 CONSTRAINT a a_pkey
pg_restore: launching item 3203 INDEX a_t_idx
pg_restore: creating INDEX "public.a_t_idx"
pg_restore: finished item 3203 INDEX a_t_idx
pg_restore: launching item 3204 FK CONSTRAINT b b_id_fkey
pg_restore: creating FK CONSTRAINT "public.b b_id_fkey"
pg_restore: finished item 3204 FK CONSTRAINT b b_id_fkey
pg_restore: processing missed item 3204 FK CONSTRAINT b b_id_fkey
pg_restore: finished main parallel loop`;

function feed(counter: RestoreItemCounter, text: string): number {
  let counted = 0;
  for (const line of text.split('\n')) if (counter.line(line).counted) counted += 1;
  return counted;
}

describe('RestoreItemCounter', () => {
  it('counts one item per line of a serial restore', () => {
    const counter = new RestoreItemCounter();
    expect(feed(counter, SERIAL)).toBe(10);
    expect(counter.done).toBe(10);
    expect(counter.current).toBe('FK CONSTRAINT public.b b_id_fkey');
  });

  it('counts a parallel restore by item number, each once, without the header entries or the workers\' lines', () => {
    const counter = new RestoreItemCounter();
    expect(feed(counter, PARALLEL)).toBe(10);
    expect(counter.current).toBe('FK CONSTRAINT b b_id_fkey');
  });

  it('adds up the runs of one step: a serial run, a parallel one, then a serial one again', () => {
    const counter = new RestoreItemCounter();
    feed(counter, SERIAL.split('\n').slice(0, 5).join('\n')); // pre-data: 4 items
    feed(counter, PARALLEL.split('\n').slice(13).join('\n').replace(/^/, 'pg_restore: connecting to database for restore\n')); // data and post-data: 6 items
    feed(counter, 'pg_restore: connecting to database for restore\npg_restore: creating COMMENT "public.CONSTRAINT a_pkey ON a"');
    expect(counter.done).toBe(11);
  });

  it('names the item a line is about and ignores lines that are not items', () => {
    const counter = new RestoreItemCounter();
    expect(counter.line('pg_restore: launching item 12 INDEX users_email_idx')).toEqual({ counted: false, item: 'INDEX users_email_idx' });
    expect(counter.line('pg_restore: entering main parallel loop')).toEqual({ counted: false });
    expect(counter.line('pg_restore: warning: errors ignored on restore: 1')).toEqual({ counted: false });
    expect(counter.line('pg_restore: processing BLOBS')).toEqual({ counted: false, item: 'BLOBS' }); // inside the parallel run above
    const serial = new RestoreItemCounter();
    expect(serial.line('pg_restore: processing BLOBS')).toEqual({ counted: true, item: 'BLOBS' });
    expect(serial.done).toBe(1);
  });
});

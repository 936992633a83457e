import { beforeAll, describe, expect, it } from 'vitest';

import { parseForeignKey } from '../../../src/pull/foreign-keys.js';
import { isCommentEntry, sqlByEntry, tocEntries, tocWith, withoutTableData } from '../../../src/backups/toc.js';
import { ensureParser } from '../../../src/sql/parse.js';

const TOC = `;
; Archive created at 2026-11-21 19:12:56 UTC
;     dbname: prod
;
215; 1259 16389 TABLE public users postgres
3220; 2606 16419 CONSTRAINT public users users_pkey postgres
3223; 1259 16424 INDEX public posts_user_id_idx postgres
3230; 2606 16431 FK CONSTRAINT public posts posts_user_id_fkey postgres
3400; 0 0 COMMENT public CONSTRAINT posts_user_id_fkey ON posts postgres
3401; 0 16395 TABLE DATA public posts postgres
`;

// pg_restore --verbose -L … -f - output (abridged from PostgreSQL 15's).
const SCRIPT = `--
-- PostgreSQL database dump
--

\\restrict abc

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

SET default_tablespace = '';

--
-- TOC entry 3220 (class 2606 OID 16419)
-- Dependencies: 215
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


SET default_tablespace = fast;

--
-- TOC entry 3223 (class 1259 OID 16424)
-- Name: posts_user_id_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX posts_user_id_idx ON public.posts USING btree (user_id);


--
-- TOC entry 3230 (class 2606 OID 16431)
-- Name: posts posts_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.posts
    ADD CONSTRAINT posts_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


-- Completed on 2026-11-21 19:12:56 UTC

--
-- PostgreSQL database dump complete
--

\\unrestrict abc
`;

describe('table of contents', () => {
  it('parses entries with their dump id, catalog and object OIDs', () => {
    const entries = tocEntries(TOC);
    expect(entries.map((e) => e.id)).toEqual([215, 3220, 3223, 3230, 3400, 3401]);
    expect(entries[3]).toMatchObject({ id: 3230, classOid: 2606, objOid: 16431, desc: 'FK CONSTRAINT public posts posts_user_id_fkey postgres' });
    expect(entries.filter(isCommentEntry).map((e) => e.id)).toEqual([3400]);
  });

  it('keeps only the chosen entries and the comment lines', () => {
    const list = tocWith(TOC, (e) => e.id === 3223);
    expect(list.split('\n').filter((l) => !l.startsWith(';') && l)).toEqual(['3223; 1259 16424 INDEX public posts_user_id_idx postgres']);
    expect(list).toContain('; Archive created at');
  });

  it('drops excluded table data', () => {
    expect(withoutTableData(TOC, ['posts'])).not.toContain('TABLE DATA public posts');
    expect(withoutTableData(TOC, ['public.users'])).toContain('TABLE DATA public posts');
  });

  it('splits a pg_restore script into the SQL of each entry, SET lines going with the entry they precede', () => {
    const sql = sqlByEntry(SCRIPT);
    expect([...sql.keys()]).toEqual([3220, 3223, 3230]);
    expect(sql.get(3220)).toBe("SET default_tablespace = '';\nALTER TABLE ONLY public.users\n    ADD CONSTRAINT users_pkey PRIMARY KEY (id);");
    expect(sql.get(3223)).toBe('SET default_tablespace = fast;\nCREATE INDEX posts_user_id_idx ON public.posts USING btree (user_id);');
    expect(sql.get(3230)).toBe('ALTER TABLE ONLY public.posts\n    ADD CONSTRAINT posts_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);');
  });
});

describe('parseForeignKey', () => {
  beforeAll(() => ensureParser());

  it('reads the table, referenced table and name of a validated key', () => {
    expect(parseForeignKey('ALTER TABLE ONLY "Sales"."line items"\n    ADD CONSTRAINT "fk ""x""" FOREIGN KEY (a, b) REFERENCES public.orders(id, v) ON DELETE CASCADE DEFERRABLE;')).toEqual({
      sql: 'ALTER TABLE ONLY "Sales"."line items"\n    ADD CONSTRAINT "fk ""x""" FOREIGN KEY (a, b) REFERENCES public.orders(id, v) ON DELETE CASCADE DEFERRABLE',
      name: 'fk "x"',
      table: { schema: 'Sales', name: 'line items' },
      references: { schema: 'public', name: 'orders' },
    });
  });

  it('leaves alone keys that were NOT VALID, other constraints, several statements and junk', () => {
    expect(parseForeignKey('ALTER TABLE ONLY public.a ADD CONSTRAINT f FOREIGN KEY (x) REFERENCES public.b(id) NOT VALID;')).toBeUndefined();
    expect(parseForeignKey('ALTER TABLE ONLY public.a ADD CONSTRAINT c CHECK (x > 0);')).toBeUndefined();
    expect(parseForeignKey('ALTER TABLE ONLY public.a ADD CONSTRAINT f FOREIGN KEY (x) REFERENCES public.b(id); SELECT 1;')).toBeUndefined();
    expect(parseForeignKey('ALTER TABLE ONLY a ADD CONSTRAINT f FOREIGN KEY (x) REFERENCES b(id);')).toBeUndefined(); // unqualified: pg_dump never writes it
    expect(parseForeignKey('ALTER TABLE ONLY public.a ADD CONSTRAINT f FOREIGN KEY (x REFERENCES')).toBeUndefined();
  });
});

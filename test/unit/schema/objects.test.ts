import { describe, expect, it } from 'vitest';

import { dumpObjects, objectDiff, sameObjects } from '../../../src/schema/objects.js';

const header = (name: string, type: string, schema = 'public') => `--\n-- Name: ${name}; Type: ${type}; Schema: ${schema}; Owner: -\n--\n\n`;
const base =
  'SET client_encoding = \'UTF8\';\n\n' +
  header('app', 'SCHEMA', '-') + 'CREATE SCHEMA app;\n\n' +
  header('users', 'TABLE') + 'CREATE TABLE public.users (\n    id bigint NOT NULL,\n    email text\n);\n\n' +
  header('users_email_idx', 'INDEX') + 'CREATE INDEX users_email_idx ON public.users USING btree (email);\n\n' +
  "INSERT INTO public.schema_migrations (version) VALUES\n('20260101000000');\n";

describe('dumpObjects / objectDiff', () => {
  it('labels each object by type, schema and name, without the recorded versions', () => {
    const objects = dumpObjects(base);
    expect([...objects.keys()]).toEqual(['schema app', 'table public.users', 'index public.users_email_idx']);
    expect(objects.get('index public.users_email_idx')).toBe('CREATE INDEX users_email_idx ON public.users USING btree (email);');
  });

  it('names removed, added and changed objects; the versions are not a difference', () => {
    const other = base
      .replace(/--\n-- Name: users_email_idx[\s\S]*?\(email\);\n\n/, header('users_nick_idx', 'INDEX') + 'CREATE INDEX users_nick_idx ON public.users USING btree (nick);\n\n')
      .replace('    email text\n', '    email text,\n    nick text\n')
      .replace("('20260101000000');", "('20260101000000'),\n('20260102000000');");
    expect(objectDiff(base, other)).toEqual({ removed: ['index public.users_email_idx'], added: ['index public.users_nick_idx'], changed: ['table public.users'] });
    expect(sameObjects(base, base.replace("('20260101000000');", "('20260101000000'),\n('20260102000000');"))).toBe(true);
  });

  it('reads an object the same whether another object follows it or it is the last one', () => {
    const last = base.replace("INSERT INTO", '--\n-- PostgreSQL database dump complete\n--\n\nINSERT INTO');
    const more = last.replace('--\n-- PostgreSQL database dump complete', header('users_id_idx', 'INDEX') + 'CREATE INDEX users_id_idx ON public.users USING btree (id);\n\n--\n-- PostgreSQL database dump complete');
    expect(objectDiff(last, more)).toEqual({ removed: [], added: ['index public.users_id_idx'], changed: [] });
  });
});

/**
 * DROP TABLE deletes the table's data for good, takes ACCESS EXCLUSIVE, and breaks code that still
 * uses it; so does DROP SCHEMA … CASCADE, for every table in the schema.
 * https://www.postgresql.org/docs/current/sql-droptable.html
 */
import { asKind, showIdent, showRelation, type PgNode } from '../ast.js';
import { droppedRelations } from '../locks.js';
import { defineRule, suppressionHint } from './shared.js';

export const banDropTable = defineRule({
  id: 'ban-drop-table',
  summary: 'Dropping a table deletes its data and breaks code that still uses it',
  severity: 'error',
  kinds: ['DropStmt'],
  check(stmt, ctx) {
    if (stmt.kind !== 'DropStmt') return;
    // DROP SCHEMA … CASCADE drops every table in it: reported unless the schema model knows it holds none.
    if (stmt.node.removeType === 'OBJECT_SCHEMA' && stmt.node.behavior === 'DROP_CASCADE') {
      const names = ((stmt.node.objects as PgNode[] | undefined) ?? []).map((o) => asKind<{ sval?: string }>(o, 'String')?.sval ?? '?');
      const contents = names.map((name) => ctx.schemaContents(name));
      if (contents.every((c) => c.known && !c.relations.some((r) => r.kind === 'table' || r.kind === 'matview'))) return;
      const schemas = names.map(showIdent);
      const known = contents.flatMap((c) => c.relations.filter((r) => r.kind === 'table' || r.kind === 'matview').map((r) => `\`${showIdent(r.name)}\``));
      ctx.report({
        message: `DROP SCHEMA ${schemas.join(', ')} CASCADE drops every table in it, with its data, for good${known.length ? ` (${known.slice(0, 5).join(', ')}${known.length > 5 ? `, and ${known.length - 5} more` : ''})` : ''}`,
        help: ['-- drop the tables one by one (each its own reviewed statement), then the empty schema without CASCADE', suppressionHint('ban-drop-table', '<why nothing in it is needed>')].join('\n'),
      });
      return;
    }
    if (stmt.node.removeType !== 'OBJECT_TABLE') return;
    const tables = droppedRelations(stmt.node).filter((t) => ctx.isExisting(t));
    if (!tables.length) return;
    const names = tables.map((t) => `\`${showRelation(t)}\``).join(', ');
    ctx.report({
      message: `dropping ${names} deletes ${tables.length > 1 ? 'their' : 'its'} data for good, and app code that still queries ${tables.length > 1 ? 'them' : 'it'} fails${stmt.node.behavior === 'DROP_CASCADE' ? '; CASCADE also drops the views and foreign keys that depend on it' : ''}`,
      help: [
        '-- first deploy code that no longer uses the table, keep a backup (or rename it and drop it a release later)',
        suppressionHint('ban-drop-table', 'unused since <release>, backed up in <where>'),
      ].join('\n'),
    });
  },
});

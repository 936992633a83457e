/**
 * json stores the text as given and reparses it on every use; it has no equality operator, so
 * DISTINCT, GROUP BY, UNION and unique indexes fail on it, and GIN indexes do not support it.
 * jsonb is stored parsed. https://www.postgresql.org/docs/current/datatype-json.html
 */
import { alterCommands, asKind, showIdent, typeInfo, type ColumnDefNode, type PgNode, type TypeNameNode } from '../ast.js';
import { defineRule } from './shared.js';

function isJson(typeName: TypeNameNode | undefined): boolean {
  const type = typeInfo(typeName);
  return type !== undefined && type.name === 'json' && type.schema === undefined;
}

export const preferJsonb = defineRule({
  id: 'prefer-jsonb',
  summary: 'json columns: jsonb is faster to query, indexable and comparable',
  severity: 'warning',
  kinds: ['CreateStmt', 'AlterTableStmt'],
  check(stmt, ctx) {
    const columns: Array<{ name: string; typeName: TypeNameNode | undefined }> = [];
    if (stmt.kind === 'CreateStmt') {
      for (const element of (stmt.node.tableElts as PgNode[] | undefined) ?? []) {
        const column = asKind<ColumnDefNode>(element, 'ColumnDef');
        if (column?.colname) columns.push({ name: column.colname, typeName: column.typeName });
      }
    } else if (stmt.kind === 'AlterTableStmt') {
      for (const cmd of alterCommands(stmt.node)) {
        const column = asKind<ColumnDefNode>(cmd.def, 'ColumnDef');
        if (cmd.subtype === 'AT_AddColumn' && column?.colname) columns.push({ name: column.colname, typeName: column.typeName });
        if (cmd.subtype === 'AT_AlterColumnType' && cmd.name) columns.push({ name: cmd.name, typeName: column?.typeName });
      }
    }
    for (const column of columns) {
      if (!isJson(column.typeName)) continue;
      const name = showIdent(column.name);
      ctx.report({
        node: column.typeName,
        message: `\`${name}\` is json: Postgres keeps the raw text and reparses it on every use, and json has no equality operator (DISTINCT, GROUP BY and UNION fail) nor GIN index support`,
        help: `-- declare it jsonb (keep json only to store the exact input text: whitespace, key order, duplicate keys)\n${name} jsonb`,
      });
    }
  },
});

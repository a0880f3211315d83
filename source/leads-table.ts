import pg from 'pg';
import { SourceSchemaInvalid } from '../lib/errors.js';
import type { Pool } from '../db/pool.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A validated, quoted reference to the leads table (`schema.table`). */
export interface LeadsTable {
  schema: string;
  table: string;
  /** Safe to splice into SQL: each part validated and quoted. */
  sql: string;
}

/** Parses `schema.table` (schema defaults to public); anything but plain identifiers is refused. */
export function parseLeadsTable(name: string): LeadsTable {
  const parts = name.split('.');
  const [schema, table] = parts.length === 1 ? ['public', parts[0]!] : [parts[0]!, parts[1]!];
  if (parts.length > 2 || !IDENTIFIER.test(schema) || !IDENTIFIER.test(table)) {
    throw new SourceSchemaInvalid(`"${name}" is not a table name of the form schema.table`);
  }
  return { schema, table, sql: `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}` };
}

/** Quotes a column name from the model card after checking it is a plain identifier. */
export function quoteColumn(name: string): string {
  if (!IDENTIFIER.test(name)) throw new SourceSchemaInvalid(`column name "${name}" is not a plain identifier`);
  return pg.escapeIdentifier(name);
}

/** The columns every leads table needs besides the model's features. */
export const KEY_COLUMNS = ['lead_id', 'email', 'updated_at'] as const;

/** Fails with SourceSchemaInvalid naming the missing table or columns. */
export async function checkLeadsTable(pool: Pool, table: LeadsTable, featureColumns: readonly string[]): Promise<void> {
  const { rows } = await pool.query<{ column_name: string }>(
    'select column_name from information_schema.columns where table_schema = $1 and table_name = $2',
    [table.schema, table.table],
  );
  if (rows.length === 0) throw new SourceSchemaInvalid(`table ${table.schema}.${table.table} does not exist`);
  const present = new Set(rows.map((r) => r.column_name));
  const missing = [...KEY_COLUMNS, ...featureColumns].filter((c) => !present.has(c));
  if (missing.length) {
    throw new SourceSchemaInvalid(`table ${table.schema}.${table.table} has no column ${missing.join(', ')}`);
  }
  // An empty source is almost always the wrong table or a failed load, not a quiet day.
  const { rows: any } = await pool.query(`select 1 from ${table.sql} limit 1`);
  if (any.length === 0) throw new SourceSchemaInvalid(`table ${table.schema}.${table.table} has no rows`);
}

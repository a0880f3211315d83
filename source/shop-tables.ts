import { SourceSchemaInvalid } from '../lib/errors.js';
import type { Pool } from '../db/pool.js';
import type { PipelineDefinition } from '../pipelines/index.js';
import { parseLeadsTable, type LeadsTable } from './leads-table.js';

/** A top-k pipeline's input tables besides its keyed table, ready for SQL. */
export interface ShopTables {
  products: LeadsTable;
  purchases: LeadsTable;
}

/** The products and purchases tables of a top-k definition (validated names; columns checked by checkShopTables). */
export function shopTablesOf(def: PipelineDefinition): ShopTables {
  const tables = def.source.tables;
  if (!tables) throw new SourceSchemaInvalid(`pipeline "${def.id}" names no products and purchases tables (source.tables)`);
  return { products: parseLeadsTable(tables.products), purchases: parseLeadsTable(tables.purchases) };
}

/** The columns the recommender reads from each table; a missing table or column is SourceSchemaInvalid naming it. */
export async function checkShopTables(pool: Pool, def: PipelineDefinition, customers: LeadsTable): Promise<void> {
  const { products, purchases } = shopTablesOf(def);
  const needs: Array<[LeadsTable, string[]]> = [
    [customers, [def.source.key, def.source.change, ...(def.source.email ? [def.source.email] : [])]],
    [products, ['product_id', 'name', 'active']],
    [purchases, [def.source.key, 'product_id', 'occurred_at']],
  ];
  for (const [table, columns] of needs) {
    const { rows } = await pool.query<{ column_name: string }>(
      'select column_name from information_schema.columns where table_schema = $1 and table_name = $2',
      [table.schema, table.table],
    );
    if (rows.length === 0) throw new SourceSchemaInvalid(`table ${table.schema}.${table.table} does not exist; create it with \`scoreflow seed --pipeline ${def.id}\` or point the definition at yours`);
    const present = new Set(rows.map((r) => r.column_name));
    const missing = columns.filter((c) => !present.has(c));
    if (missing.length) throw new SourceSchemaInvalid(`table ${table.schema}.${table.table} has no column ${missing.join(', ')}`);
  }
  const { rows: any } = await pool.query(`select 1 from ${customers.sql} limit 1`);
  if (any.length === 0) throw new SourceSchemaInvalid(`table ${customers.schema}.${customers.table} has no rows`);
}

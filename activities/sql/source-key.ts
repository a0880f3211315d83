import type { PoolClient } from '../../db/pool.js';
import type { LeadsTable } from '../../source/leads-table.js';

/**
 * Whether the table declares its integer key column unique by itself: a valid unique index on that column
 * alone, without predicate, on a table whose rows are all its own (or a partitioned table, whose unique
 * indexes hold across partitions). A view, or a table without such an index, may repeat keys.
 */
export async function keyIsUnique(client: PoolClient, table: LeadsTable): Promise<boolean> {
  const { rows } = await client.query<{ unique: boolean }>(
    `select exists (
       select 1 from pg_index i
       join pg_class c on c.oid = i.indrelid
       join pg_attribute a on a.attrelid = c.oid and a.attnum = i.indkey[0]
       where c.oid = to_regclass($1) and i.indisunique and i.indisvalid and i.indnkeyatts = 1
         and i.indpred is null and i.indexprs is null
         and a.attname = $2 and a.atttypid in ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
         and (c.relkind = 'p' or not exists (select 1 from pg_inherits h where h.inhparent = c.oid))
     ) as unique`,
    [table.sql, table.columns.key],
  );
  return rows[0]!.unique;
}

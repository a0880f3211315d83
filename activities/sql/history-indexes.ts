import pg from 'pg';
import type { PoolClient } from '../../db/pool.js';
import type { RunTable } from './run-tables.js';

/** One of history's indexes as a run's table carries it: named after the table, defined as on history. */
interface RunTableIndex {
  name: string;
  /** What follows USING in history's index definition: method, columns, and any INCLUDE or WHERE. */
  using: string;
  unique: boolean;
  /** History's primary key: the run's index becomes a primary key too, or attaching would build another. */
  primary: boolean;
}

/**
 * Builds history's indexes on a run's own table, inside the caller's transaction, so that attaching the
 * table to history at publish finds them and builds nothing (see linkRunTableIndexes). An index the table
 * already has is kept. Returns the names of the indexes the table has for history.
 */
export async function buildRunTableIndexes(client: PoolClient, p: { table: RunTable; history: string }): Promise<string[]> {
  const indexes = await runTableIndexes(client, p);
  // The publishing transaction uses the other core: a parallel build here would only take turns with it.
  await client.query("select set_config('max_parallel_maintenance_workers', '0', true)");
  for (const index of indexes) {
    await client.query(`create ${index.unique ? 'unique ' : ''}index if not exists ${pg.escapeIdentifier(index.name)} on ${p.table.sql} using ${index.using}`);
  }
  return indexes.map((i) => i.name);
}

/**
 * Inside the publishing transaction, once the run's table has left staging: makes the unique index built
 * for history's primary key (by buildRunTableIndexes) the table's primary key, which attaching requires of
 * an index to adopt it for a primary key. Without it, attaching builds the index itself.
 */
export async function linkRunTableIndexes(client: PoolClient, p: { table: RunTable; history: string }): Promise<void> {
  for (const index of await runTableIndexes(client, p)) {
    if (!index.primary) continue;
    const { rows } = await client.query<{ loose: boolean }>(
      `select not exists (select 1 from pg_constraint k where k.conindid = x.indexrelid) as loose
       from pg_index x where x.indexrelid = to_regclass($1) and x.indrelid = $2::regclass and x.indisvalid`,
      [`scoring.${pg.escapeIdentifier(index.name)}`, p.table.sql],
    );
    if (rows[0]?.loose) {
      const name = pg.escapeIdentifier(index.name);
      await client.query(`alter table ${p.table.sql} add constraint ${name} primary key using index ${name}`);
    }
  }
}

/** History's indexes, each named as the run's table's own: the table's name, then what follows history's name in the index's. */
async function runTableIndexes(client: PoolClient, p: { table: RunTable; history: string }): Promise<RunTableIndex[]> {
  const { rows } = await client.query<{ name: string; parent: string; def: string; unique: boolean; primary: boolean }>(
    `select i.relname as name, t.relname as parent, pg_get_indexdef(x.indexrelid) as def, x.indisunique as unique, x.indisprimary as primary
     from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
     where x.indrelid = $1::regclass order by i.relname`,
    [p.history],
  );
  return rows.flatMap((r) => {
    const using = /^CREATE (?:UNIQUE )?INDEX \S+ ON ONLY \S+ USING (.+)$/.exec(r.def)?.[1];
    if (!using) return [];
    const suffix = r.name.startsWith(r.parent) ? r.name.slice(r.parent.length) : `_${r.name}`;
    return [{ name: `${p.table.name}${suffix}`.slice(0, 63), using, unique: r.unique, primary: r.primary }];
  });
}

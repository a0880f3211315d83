import pg from 'pg';
import type { Pool, PoolClient } from '../../db/pool.js';

/**
 * A run's own table: a partition of scoring.staged_scores while its chunks are scored, then, once
 * published, the same table as a partition of the pipeline's history (see migration 013). Its name is
 * scoring.run_table_name(run id).
 */
export interface RunTable {
  /** Schema-qualified and quoted, for SQL. */
  sql: string;
}

/**
 * Creates the run's staging table, unless it exists: no index, so chunks COPY into it at the speed of the
 * heap, and a check on the run id, so attaching it to history later needs no scan. The model columns are
 * required here, as history requires them.
 */
export async function createRunStagingTable(client: PoolClient, runId: string): Promise<RunTable> {
  const table = await runTableOf(client, runId);
  const run = pg.escapeLiteral(runId);
  await client.query(
    `create table if not exists ${table.sql} partition of scoring.staged_scores (
       model_version not null, model_sha256 not null, constraint run_only check (run_id = ${run})
     ) for values in (${run})`,
  );
  return table;
}

/** The tables that are partitions of scoring.staged_scores now, as `c` (their pg_class rows). */
const STAGING_TABLES = `pg_inherits i join pg_class c on c.oid = i.inhrelid
  and i.inhparent = 'scoring.staged_scores'::regclass and c.relnamespace = 'scoring'::regnamespace`;

/** The run's table if it is a partition of scoring.staged_scores now (it was created at extract and not yet published), else null. */
export async function runStagingTable(db: Pool | PoolClient, runId: string): Promise<RunTable | null> {
  const { rows } = await db.query<{ name: string }>(
    `select c.relname as name from ${STAGING_TABLES} where c.relname = scoring.run_table_name($1)`,
    [runId],
  );
  return rows[0] ? { sql: `scoring.${pg.escapeIdentifier(rows[0].name)}` } : null;
}

/** Whether a history sink is partitioned by run id, so that a run's table can be attached to it as it is. */
export async function partitionedByRun(db: Pool | PoolClient, table: string): Promise<boolean> {
  const { rows } = await db.query<{ key: string | null }>('select pg_get_partkeydef($1::regclass) as key', [table]);
  return rows[0]?.key === 'LIST (run_id)';
}

/** Moves a run's table from staging into history, which builds its indexes there in one pass each. */
export async function attachRunTable(client: PoolClient, p: { runId: string; table: RunTable; history: string }): Promise<void> {
  await client.query(`alter table scoring.staged_scores detach partition ${p.table.sql}`);
  await client.query(`alter table ${p.history} attach partition ${p.table.sql} for values in (${pg.escapeLiteral(p.runId)})`);
}

/** Creates the run's partition of a history partitioned by run, for a run published by copying its staged rows. */
export async function createRunHistoryPartition(client: PoolClient, p: { runId: string; history: string }): Promise<void> {
  const table = await runTableOf(client, p.runId);
  await client.query(`create table if not exists ${table.sql} partition of ${p.history} for values in (${pg.escapeLiteral(p.runId)})`);
}

/** Drops the staging tables of runs whose audit row last moved more than `days` ago; returns how many. */
export async function dropStagingTablesPast(db: Pool | PoolClient, days: number): Promise<number> {
  const { rows } = await db.query<{ name: string }>(
    `select c.relname as name from ${STAGING_TABLES}
     join scoring.pipeline_runs r on c.relname = scoring.run_table_name(r.run_id)
     where r.updated_at < now() - make_interval(days => $1)`,
    [days],
  );
  for (const { name } of rows) await db.query(`drop table scoring.${pg.escapeIdentifier(name)}`);
  return rows.length;
}

async function runTableOf(client: PoolClient, runId: string): Promise<RunTable> {
  const { rows } = await client.query<{ name: string }>('select scoring.run_table_name($1) as name', [runId]);
  return { sql: `scoring.${pg.escapeIdentifier(rows[0]!.name)}` };
}

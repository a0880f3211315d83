import pg from 'pg';
import { withTransaction, type Pool, type PoolClient } from '../../db/pool.js';
import { buildRunTableIndexes, linkRunTableIndexes } from './history-indexes.js';
import { chunkProgress } from './runs.js';

/**
 * A run's own table: a partition of scoring.staged_scores while its chunks are scored, then, once
 * published, the same table as a partition of the pipeline's history (see migration 013). Its name is
 * scoring.run_table_name(run id).
 */
export interface RunTable {
  /** Schema-qualified and quoted, for SQL. */
  sql: string;
  /** Its name in schema scoring, unquoted. */
  name: string;
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
  return rows[0] ? runTable(rows[0].name) : null;
}

/** Whether a history sink is partitioned by run id, so that a run's table can be attached to it as it is. */
export async function partitionedByRun(db: Pool | PoolClient, table: string): Promise<boolean> {
  const { rows } = await db.query<{ key: string | null }>('select pg_get_partkeydef($1::regclass) as key', [table]);
  return rows[0]?.key === 'LIST (run_id)';
}

/**
 * Builds history's indexes on a fully scored run's table while it is still unpublished staging, in a
 * transaction of its own: the store stage runs it on a second connection while the publishing transaction
 * writes the current table, so that attaching finds the indexes and builds nothing. Idempotent, and safe
 * to lose at any point: the table stays staging until the publish commits, and a retry keeps what it finds.
 * A run without a staging table of its own, not fully scored, or whose history is not partitioned by run
 * gets none. Returns the names of the indexes the table has for history.
 */
export async function indexRunTableForHistory(pool: Pool, p: { runId: string; history: string }): Promise<string[]> {
  return withTransaction(pool, async (client) => {
    const table = await runStagingTable(client, p.runId);
    if (!table || !(await partitionedByRun(client, p.history)) || !(await fullyScored(client, p.runId))) return [];
    return buildRunTableIndexes(client, { table, history: p.history });
  });
}

/**
 * Moves a run's table from staging into history. Indexes built beforehand (indexRunTableForHistory) become
 * history's; any it lacks, attaching builds there in one pass each.
 */
export async function attachRunTable(client: PoolClient, p: { runId: string; table: RunTable; history: string }): Promise<void> {
  await client.query(`alter table scoring.staged_scores detach partition ${p.table.sql}`);
  await linkRunTableIndexes(client, p);
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

async function fullyScored(client: PoolClient, runId: string): Promise<boolean> {
  const run = await chunkProgress(client, runId);
  return run !== null && run.status !== 'published' && run.chunks === run.staged_chunks;
}

async function runTableOf(client: PoolClient, runId: string): Promise<RunTable> {
  const { rows } = await client.query<{ name: string }>('select scoring.run_table_name($1) as name', [runId]);
  return runTable(rows[0]!.name);
}

function runTable(name: string): RunTable {
  return { sql: `scoring.${pg.escapeIdentifier(name)}`, name };
}

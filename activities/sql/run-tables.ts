import pg from 'pg';
import { withTransaction, type Pool, type PoolClient } from '../../db/pool.js';
import { DatabaseSchemaInvalid } from '../../lib/errors.js';
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
 * heap, and a check on the run id, so attaching it to history later needs no scan.
 */
export async function createRunStagingTable(client: PoolClient, runId: string): Promise<RunTable> {
  const table = await runTableOf(client, runId);
  const run = pg.escapeLiteral(runId);
  await client.query(
    `create table if not exists ${table.sql} partition of scoring.staged_scores (constraint run_only check (run_id = ${run})) for values in (${run})`,
  );
  return table;
}

/** The tables in schema scoring that are partitions of `parent` now, as `c` (their pg_class rows), for a FROM clause. */
const partitionsOf = (parent: string) => `pg_inherits i join pg_class c on c.oid = i.inhrelid
  and i.inhparent = '${parent}'::regclass and c.relnamespace = 'scoring'::regnamespace`;

const STAGING_TABLES = partitionsOf('scoring.staged_scores');

/** The run's table if it is a partition of scoring.staged_scores now (it was created at extract and not yet published), else null. */
export async function runStagingTable(db: Pool | PoolClient, runId: string): Promise<RunTable | null> {
  const { rows } = await db.query<{ name: string }>(
    `select c.relname as name from ${STAGING_TABLES} where c.relname = scoring.run_table_name($1)`,
    [runId],
  );
  return rows[0] ? runTable(rows[0].name) : null;
}

/** How a history sink takes a run's rows (see historyShape). */
export interface HistoryShape {
  /** Partitioned by run id, with exactly staging's columns: a run's table can be attached to it as it is. */
  partitioned: boolean;
  /** Has model_version and model_sha256 columns, which rows copied into it get from the run's audit row. */
  namesModel: boolean;
}

/**
 * How a history sink takes a run's rows. Lead scoring's scoring.lead_score_history_rows takes run tables as
 * they are (its readers' view, scoring.lead_score_history, adds the run's model); an unpartitioned table
 * shaped like that view gets the rows copied, the model on each. A view, or a table partitioned by run whose
 * columns are not staging's: DatabaseSchemaInvalid, naming what to change.
 */
export async function historyShape(db: Pool | PoolClient, table: string): Promise<HistoryShape> {
  const { rows } = await db.query<{ kind: string; key: string | null; columns: string[]; staging: string[] }>(
    `select (select relkind::text from pg_class where oid = $1::regclass) as kind, pg_get_partkeydef($1::regclass) as key,
            (select array_agg(attname::text order by attname) from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped) as columns,
            (select array_agg(attname::text order by attname) from pg_attribute where attrelid = 'scoring.staged_scores'::regclass and attnum > 0 and not attisdropped) as staging`,
    [table],
  );
  const { kind, key, columns, staging } = rows[0]!;
  if (kind === 'v') {
    throw new DatabaseSchemaInvalid(`the history sink ${table} is a view; a pipeline's sinks.history names the table its rows are written to (lead scoring's: scoring.lead_score_history_rows)`);
  }
  const partitioned = key === 'LIST (run_id)';
  if (partitioned && columns.join() !== staging.join()) {
    throw new DatabaseSchemaInvalid(`the history sink ${table} is partitioned by run_id but its columns (${columns.join(', ')}) are not scoring.staged_scores' (${staging.join(', ')}), so a run's table cannot move into it; give it staging's columns, or leave it unpartitioned to have rows copied into it`);
  }
  return {
    partitioned,
    namesModel: columns.includes('model_version') && columns.includes('model_sha256'),
  };
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
    if (!table || !(await historyShape(client, p.history)).partitioned || !(await fullyScored(client, p.runId))) return [];
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

/** The parents whose partitions are tables of a run's own, and the SQL function that names a run's table under each. */
const RUN_TABLE_NAMES = { 'scoring.staged_scores': 'scoring.run_table_name', 'scoring.crm_outbox': 'scoring.outbox_table_name' } as const;

/**
 * Drops the run tables that are partitions of `parent` now (a run's staging table, or its CRM outbox) of runs whose audit
 * row last moved more than `days` ago. Returns how many.
 */
export async function dropRunTablesPast(db: Pool | PoolClient, p: { parent: keyof typeof RUN_TABLE_NAMES; days: number }): Promise<number> {
  const { rows } = await db.query<{ name: string }>(
    `select c.relname as name from ${partitionsOf(p.parent)}
     join scoring.pipeline_runs r on c.relname = ${RUN_TABLE_NAMES[p.parent]}(r.run_id)
     where r.updated_at < now() - make_interval(days => $1)`,
    [p.days],
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

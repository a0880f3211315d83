import pg from 'pg';
import type { PoolClient } from '../../db/pool.js';

/**
 * A run's own outbox table (migration 021): filled bare by planOutbox, then keyed and attached to
 * scoring.crm_outbox, through which every reader asks for the run's rows. Its name is scoring.outbox_table_name(run id).
 */
export interface RunOutbox {
  runId: string;
  /** Schema-qualified and quoted, for SQL. */
  sql: string;
  /** Already under scoring.crm_outbox, with its key: the table of an earlier plan of the run, emptied. */
  attached: boolean;
}

/**
 * The run's outbox table, in the caller's transaction. Normally it is created bare (no key), so that the plan's rows
 * go in at the speed of the heap; the check on the run id lets attaching it skip the scan that would prove it.
 * A run is planned once, under its lock, so a table found here was left by a plan whose run was reset (or emptied
 * by hand): it is emptied and reused, keyed and attached as it is. Dropping it instead would lock scoring.crm_outbox
 * whole, and every other run's CRM sync with it, until this plan commits.
 */
export async function createRunOutbox(client: PoolClient, runId: string): Promise<RunOutbox> {
  const { rows } = await client.query<{ name: string; attached: boolean | null }>(
    `select n.name, (select true from pg_inherits where inhrelid = to_regclass('scoring.' || quote_ident(n.name))) as attached
     from (select scoring.outbox_table_name($1) as name) n`,
    [runId],
  );
  const table = `scoring.${pg.escapeIdentifier(rows[0]!.name)}`;
  if (rows[0]!.attached) {
    await client.query(`truncate ${table}`);
    return { runId, sql: table, attached: true };
  }
  // A bare table of this name does not outlive the transaction of the plan that made it; one made by hand is not this plan's.
  await client.query(`drop table if exists ${table}`);
  await client.query(
    `create table ${table} (like scoring.crm_outbox including defaults, constraint run_only check (run_id = ${pg.escapeLiteral(runId)}))`,
  );
  return { runId, sql: table, attached: false };
}

/**
 * Builds the filled table's key in one sorted pass (PostgreSQL's parallel index build may use a second
 * core) and attaches the table to scoring.crm_outbox, whose key it becomes. A reused table has both.
 */
export async function attachRunOutbox(client: PoolClient, outbox: RunOutbox): Promise<void> {
  if (outbox.attached) return;
  await client.query(`alter table ${outbox.sql} add primary key (run_id, partition, batch, lead_id)`);
  await client.query(`alter table scoring.crm_outbox attach partition ${outbox.sql} for values in (${pg.escapeLiteral(outbox.runId)})`);
}

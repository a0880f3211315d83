import type { PoolClient } from '../../db/pool.js';
import { quoteColumn, type LeadsTable } from '../../source/leads-table.js';

/** Which leads a run takes: all of them, or only those not yet scored at their current version by this model. */
export type ExtractMode = { kind: 'full' } | { kind: 'unscored'; since?: Date };

/**
 * Rows already scored (in the pipeline's current-result table), or already rejected by a published run of
 * the same pipeline, at exactly their current change time by this model.
 */
const alreadyHandled = (current: string, key: string, change: string) => `
  not exists (select 1 from ${current} s
              where s.lead_id = l.${key} and s.model_sha256 = $3 and s.source_updated_at = l.${change})
  and not exists (select 1 from scoring.rejected_leads rj join scoring.pipeline_runs pr using (run_id)
                  where rj.lead_id = l.${key} and rj.source_updated_at = l.${change}
                    and pr.status = 'published' and pr.model_sha256 = $3
                    and pr.pipeline = (select pipeline from scoring.pipeline_runs where run_id = $1))`;

/**
 * Takes the run's snapshot in one statement: candidate rows of the source table (its key and change
 * columns read as lead_id and updated_at) numbered into chunks go to run_leads,
 * lead ids found more than once in the source go to rejected_leads, and the statement's start time is
 * recorded as the run's snapshot_at (the watermark never passes it). Returns both counts.
 */
export async function snapshotRunLeads(
  client: PoolClient,
  p: { runId: string; table: LeadsTable; current: string; chunkSize: number; modelSha256: string; mode: ExtractMode },
): Promise<{ snapshotted: number; duplicates: number }> {
  const key = quoteColumn(p.table.columns.key);
  const change = quoteColumn(p.table.columns.change);
  const filters = [`l.${key} is not null`];
  const params: unknown[] = [p.runId, p.chunkSize, p.modelSha256];
  if (p.mode.kind === 'unscored') {
    filters.push(alreadyHandled(p.current, key, change));
    if (p.mode.since) {
      params.push(p.mode.since);
      filters.push(`l.${change} > $${params.length}`);
    }
  }
  const { rows } = await client.query<{ snapshotted: string; duplicates: string }>(
    `with candidates as materialized (
       select l.${key} as lead_id, l.${change} as updated_at, count(*) over (partition by l.${key}) as copies
       from ${p.table.sql} l
       where ${filters.join(' and ')}
     ), duplicates as (
       insert into scoring.rejected_leads (run_id, lead_id, source_updated_at, reason)
       select distinct on (lead_id) $1, lead_id, updated_at, 'lead_id appears ' || copies || ' times in the source table'
       from candidates where copies > 1 and $3::text is not null
       order by lead_id, updated_at desc
       on conflict do nothing
       returning 1
     ), snapshot as (
       insert into scoring.run_leads (run_id, lead_id, chunk)
       select $1, lead_id, ((row_number() over (order by lead_id)) - 1) / $2::int
       from candidates where copies = 1
       returning 1
     ), stamped as (
       update scoring.pipeline_runs set snapshot_at = statement_timestamp() where run_id = $1
     )
     select (select count(*) from snapshot) as snapshotted, (select count(*) from duplicates) as duplicates`,
    params,
  );
  return { snapshotted: Number(rows[0]!.snapshotted), duplicates: Number(rows[0]!.duplicates) };
}

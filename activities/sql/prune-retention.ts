import type { Pool, PoolClient } from '../../db/pool.js';
import { dropRunTablesPast } from './run-tables.js';

/** Rows removed by one pruning, per table; `runs` counts the runs whose working rows were looked at. */
export interface PruneCounts {
  runs: number;
  /** Leads of the snapshots removed (each chunk's row holds its leads' ids). */
  runLeads: number;
  stagedScores: number;
  /** A top-k run's staged rows: those of a run that never published in recs.customer_recommendations (and its popularity list and short lists), and any left in recs.staged_recommendations. */
  stagedRecommendations: number;
  runChunks: number;
  crmOutbox: number;
  crmBatches: number;
  crmRateLog: number;
  /** Runs whose challenger rows (shadow scores or recommendations) went. */
  shadowRuns: number;
  /** Runs' own staging tables dropped, of runs that never published (see run-tables.ts). */
  stagingTables: number;
  /** Runs' own outbox tables dropped, once their rows were deleted (see run-outbox.ts). */
  outboxTables: number;
}

/**
 * Removes the working rows of runs whose audit row last moved more than `days` ago, in one statement:
 * their snapshot (run_leads), CRM outbox (which holds emails; its tables dropped after) and answered batches, and the staged scores
 * (their own staging tables dropped, and a top-k run's staged recommendations, in recs.customer_recommendations) and chunk marks of runs that never published (their audit row forgets its snapshot, so a rerun extracts
 * again); a challenger's shadow rows; and budget log rows older than that. Audit rows, published scores, history, rejects and the CRM
 * sync state stay.
 */
export async function pruneRetention(db: Pool | PoolClient, days: number): Promise<PruneCounts> {
  const { rows } = await db.query<Omit<PruneCounts, 'stagingTables' | 'outboxTables'>>(
    `with old as materialized (
       select run_id, status = 'published' as published from scoring.pipeline_runs
       where updated_at < now() - make_interval(days => $1)
     ), run_leads as (
       delete from scoring.run_leads t using old where t.run_id = old.run_id returning cardinality(t.lead_ids) as n
     ), staged as (
       delete from scoring.staged_scores t using old where t.run_id = old.run_id returning 1
     ), staged_recs as (
       delete from recs.staged_recommendations t using old where t.run_id = old.run_id returning 1
     ), unpublished_recs as (
       delete from recs.customer_recommendations t using old where t.run_id = old.run_id and not old.published returning 1
     ), popular as (
       delete from recs.popular_products t using old where t.run_id = old.run_id and not old.published returning 1
     ), short as (
       delete from recs.short_recommendations t using old where t.run_id = old.run_id and not old.published returning 1
     ), chunks as (
       delete from scoring.run_chunks t using old where t.run_id = old.run_id and not old.published returning 1
     ), unextracted as (
       update scoring.pipeline_runs r set chunks = null from old where r.run_id = old.run_id and not old.published and r.chunks is not null
     ), outbox as (
       delete from scoring.crm_outbox t using old where t.run_id = old.run_id returning 1
     ), batches as (
       delete from scoring.crm_batches t using old where t.run_id = old.run_id returning 1
     ), shadow as (
       delete from scoring.shadow_runs t using old where t.run_id = old.run_id returning 1
     ), rate_log as (
       delete from scoring.crm_rate_log where called_at < now() - make_interval(days => $1) returning 1
     )
     select (select count(*)::int from old) as runs, (select coalesce(sum(n), 0)::int from run_leads) as "runLeads",
            (select count(*)::int from staged) as "stagedScores", (select count(*)::int from staged_recs) + (select count(*)::int from unpublished_recs) as "stagedRecommendations",
            (select count(*)::int from chunks) as "runChunks",
            (select count(*)::int from outbox) as "crmOutbox", (select count(*)::int from batches) as "crmBatches",
            (select count(*)::int from rate_log) as "crmRateLog", (select count(*)::int from shadow) as "shadowRuns"`,
    [days],
  );
  return {
    ...rows[0]!,
    stagingTables: await dropRunTablesPast(db, { parent: 'scoring.staged_scores', days }),
    outboxTables: await dropRunTablesPast(db, { parent: 'scoring.crm_outbox', days }),
  };
}

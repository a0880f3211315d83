import type { Pool, PoolClient } from '../../db/pool.js';
import type { RunMetrics } from '../gate-checks.js';
import { chunksRecordedAggregates } from './stage-chunk.js';

type Db = Pool | PoolClient;

/** The pipeline's last published run other than `runId`: the gate's baseline (null before the first publication). */
export async function lastPublishedRun(db: Db, pipeline: string, runId: string): Promise<{ runId: string; rejected: number } | null> {
  const { rows } = await db.query<{ run_id: string; leads_rejected: number | null }>(
    `select run_id, leads_rejected from scoring.pipeline_runs
     where pipeline = $1 and status = 'published' and run_id <> $2
     order by finished_at desc nulls last, run_id desc limit 1`,
    [pipeline, runId],
  );
  return rows[0] ? { runId: rows[0].run_id, rejected: rows[0].leads_rejected ?? 0 } : null;
}

/**
 * Staged scores of a probability-buckets run: rows per card bucket, and its rejects. Summed from what each
 * chunk recorded as it was staged, or counted from the staged rows for chunks staged before it did.
 */
export async function stagedBucketMetrics(db: Db, runId: string): Promise<RunMetrics> {
  const { rows } = await db.query<{ bucket: string; n: number }>(
    (await chunksRecordedAggregates(db, runId))
      ? `select b.key as bucket, sum(b.value::int)::int as n
         from scoring.run_chunks c cross join jsonb_each_text(c.bins) as b where c.run_id = $1 group by b.key having sum(b.value::int) > 0`
      : 'select bucket, count(*)::int as n from scoring.staged_scores where run_id = $1 group by bucket',
    [runId],
  );
  return { ...binned(rows), rejected: await rejectedOf(db, runId) };
}

/**
 * A published probability-buckets run's rows per bucket as its own gate stored them when it was judged (its
 * staged rows are the rows it published), or null for a run published without (before migration 014, a rollback).
 */
export async function storedBucketMetrics(db: Db, baseline: { runId: string; rejected: number }): Promise<RunMetrics | null> {
  const { rows } = await db.query<{ run_metrics: Pick<RunMetrics, 'rows' | 'bins'> | null }>(
    'select run_metrics from scoring.run_gate_reports where run_id = $1',
    [baseline.runId],
  );
  const stored = rows[0]?.run_metrics;
  return stored ? { rows: stored.rows, bins: stored.bins, rejected: baseline.rejected } : null;
}

/** A published probability-buckets run's rows per bucket, from the pipeline's history table. */
export async function publishedBucketMetrics(db: Db, historyTable: string, baseline: { runId: string; rejected: number }): Promise<RunMetrics> {
  const { rows } = await db.query<{ bucket: string; n: number }>(
    `select bucket, count(*)::int as n from ${historyTable} where run_id = $1 group by bucket`,
    [baseline.runId],
  );
  return { ...binned(rows), rejected: baseline.rejected };
}

/**
 * A top-k run's figures: customers with recommendations, score deciles (edges from the baseline run, or
 * from the run itself without one), catalogue coverage against the active products and the most
 * recommended product's share. `table` holds the run's rows (staged, or the history table for a published run).
 */
export async function topKMetrics(
  db: Db,
  p: { table: string; runId: string; productsTable: string; edgesFrom: { table: string; runId: string }; rejected?: number },
): Promise<RunMetrics> {
  const { rows } = await db.query<{ rows: number; bins: Record<string, number> | null; coverage: number | null; top_share: number | null }>(
    `with edges as (
       select percentile_cont(array[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) within group (order by score::float8) as e
       from ${p.edgesFrom.table} where run_id = $2),
     r as (select customer_id, product_id, score from ${p.table} where run_id = $1),
     per_bin as (select width_bucket(r.score::float8, edges.e) as bin, count(*)::int as n from r, edges group by 1),
     per_product as (select product_id, count(*) as n from r group by product_id)
     select (select count(distinct customer_id)::int from r) as rows,
            (select jsonb_object_agg('d' || bin, n) from per_bin) as bins,
            (select count(*)::float8 from per_product) / nullif((select count(*) from ${p.productsTable} where active), 0) as coverage,
            (select max(n)::float8 from per_product) / nullif((select count(*) from r), 0) as top_share`,
    [p.runId, p.edgesFrom.runId],
  );
  const m = rows[0]!;
  return {
    rows: m.rows,
    bins: m.bins ?? {},
    rejected: p.rejected ?? await rejectedOf(db, p.runId),
    coverage: m.coverage ?? 0,
    topItemShare: m.top_share ?? 0,
  };
}

async function rejectedOf(db: Db, runId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('select count(*)::int as n from scoring.rejected_leads where run_id = $1', [runId]);
  return rows[0]!.n;
}

function binned(rows: Array<{ bucket: string; n: number }>): Pick<RunMetrics, 'rows' | 'bins'> {
  return { rows: rows.reduce((s, r) => s + r.n, 0), bins: Object.fromEntries(rows.map((r) => [r.bucket, r.n])) };
}

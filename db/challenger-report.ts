import type { Pool } from './pool.js';
import { shadowRun } from '../activities/sql/shadow.js';
import { bucketMigration, coverage, overlapAtK, scoreShift, spearman, type BucketMigration, type ScoreShift } from '../models/challenger-compare.js';

/** Which run was compared and with which models, and how much of the run the challenger scored. */
export interface ComparisonHead {
  runId: string;
  champion: { version: string | null; sha256: string | null };
  challenger: { version: string; sha256: string };
  chunks: number;
  chunksDone: number;
  /** Keys both models scored. */
  compared: number;
}

export interface ScoreComparison extends ComparisonHead {
  kind: 'probability-buckets';
  migration: BucketMigration;
  spearman: number | null;
  shift: ScoreShift | null;
}

export interface RecsComparison extends ComparisonHead {
  kind: 'top-k';
  k: number;
  overlapAtK: number | null;
  catalogue: number;
  coverage: { champion: { distinct: number; share: number | null }; challenger: { distinct: number; share: number | null } };
}

async function head(pool: Pool, runId: string): Promise<Omit<ComparisonHead, 'compared'> | undefined> {
  const shadow = await shadowRun(pool, runId);
  if (!shadow) return undefined;
  const { rows } = await pool.query<{ model_version: string | null; model_sha256: string | null }>(
    'select model_version, model_sha256 from scoring.pipeline_runs where run_id = $1', [runId],
  );
  return {
    runId,
    champion: { version: rows[0]?.model_version ?? null, sha256: rows[0]?.model_sha256 ?? null },
    challenger: { version: shadow.model_version, sha256: shadow.model_sha256 },
    chunks: shadow.chunks,
    chunksDone: shadow.chunks_done,
  };
}

/** Champion (the run's published history, or its staged scores before publication) against the challenger's shadow scores of the same run. */
export async function compareScores(pool: Pool, p: { runId: string; history: string; buckets: string[] }): Promise<ScoreComparison | undefined> {
  const h = await head(pool, p.runId);
  if (!h) return undefined;
  const { rows } = await pool.query<{ cs: number; cb: string; xs: number; xb: string }>(
    `select coalesce(h.score, st.score) as cs, coalesce(h.bucket, st.bucket) as cb, s.score as xs, s.bucket as xb
     from scoring.shadow_scores s
     left join ${p.history} h on h.run_id = s.run_id and h.lead_id = s.lead_id
     left join scoring.staged_scores st on st.run_id = s.run_id and st.lead_id = s.lead_id
     where s.run_id = $1 and coalesce(h.score, st.score) is not null`,
    [p.runId],
  );
  const champion = rows.map((r) => r.cs);
  const challenger = rows.map((r) => r.xs);
  return {
    kind: 'probability-buckets',
    ...h,
    compared: rows.length,
    migration: bucketMigration(rows.map((r) => ({ champion: r.cb, challenger: r.xb })), p.buckets),
    spearman: spearman(champion, challenger),
    shift: scoreShift(champion, challenger),
  };
}

/** Champion's recommendations of the run (published and still kept in the versioned table) against the challenger's shadow recommendations. */
export async function compareRecs(pool: Pool, p: { runId: string; versioned: string; products: string; k: number }): Promise<RecsComparison | undefined> {
  const h = await head(pool, p.runId);
  if (!h) return undefined;
  const lists = async (sql: string) => {
    const { rows } = await pool.query<{ customer_id: string; items: string[] }>(
      `select customer_id::text, array_agg(product_id::text order by rank) as items from (${sql}) r group by customer_id`, [p.runId],
    );
    return new Map(rows.map((r) => [r.customer_id, r.items]));
  };
  const champion = await lists(`select customer_id, rank, product_id from ${p.versioned} where run_id = $1`);
  const challenger = await lists('select customer_id, rank, product_id from recs.shadow_recommendations where run_id = $1');
  const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from ${p.products} where coalesce(active, false)`);
  const catalogue = rows[0]!.n;
  const overlap = overlapAtK(champion, challenger, p.k);
  return {
    kind: 'top-k',
    ...h,
    compared: overlap.keys,
    k: p.k,
    overlapAtK: overlap.overlap,
    catalogue,
    coverage: { champion: coverage(champion.values(), catalogue), challenger: coverage(challenger.values(), catalogue) },
  };
}

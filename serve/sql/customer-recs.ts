import type { Pool } from '../../db/pool.js';
import { recencyWeightSql } from '../../activities/sql/recs-history.js';
import { quoteColumn, type LeadsTable } from '../../source/leads-table.js';

/** One stored recommendation of a customer in a published run. */
export interface StoredRec {
  productId: string;
  score: number;
  source: 'model' | 'popular';
  generatedAt: Date;
}

/** A customer's rows of one run in recs.customer_recommendations, by rank: one primary-key range read. */
export async function readCustomerRecs(pool: Pool, p: { runId: string; customerId: string }): Promise<StoredRec[]> {
  const { rows } = await pool.query<{ product_id: string; score: number; source: 'model' | 'popular'; generated_at: Date }>(
    `select product_id::text as product_id, score, source, generated_at
     from recs.customer_recommendations where run_id = $1 and customer_id = $2 order by rank`,
    [p.runId, p.customerId],
  );
  return rows.map((r) => ({ productId: r.product_id, score: r.score, source: r.source, generatedAt: r.generated_at }));
}

/**
 * Whether the customer exists, and their purchases so far summed per product with the batch's recency
 * weight 0.5 ** (age_days / halfLifeDays), age counted from now (the batch counts from its snapshot).
 */
export async function readCustomerHistory(
  pool: Pool,
  p: { customerId: string; customers: LeadsTable; purchases: LeadsTable; key: string; halfLifeDays: number },
): Promise<{ known: boolean; purchases: Array<{ productId: string; weight: number }> }> {
  const key = quoteColumn(p.key);
  const { rows } = await pool.query<{ known: boolean; purchases: Array<{ p: string; w: number }> }>(
    `select exists (select 1 from ${p.customers.sql} where ${key} = $1) as known,
            coalesce((select json_agg(json_build_object('p', product_id::text, 'w', weight))
                      from (select product_id, sum(${recencyWeightSql('now()', 'occurred_at', '$2')})::float8 as weight
                            from ${p.purchases.sql} where ${key} = $1 and occurred_at <= now()
                            group by product_id) h), '[]'::json) as purchases`,
    [p.customerId, p.halfLifeDays],
  );
  const row = rows[0]!;
  return { known: row.known, purchases: row.purchases.map((x) => ({ productId: x.p, weight: x.w })) };
}

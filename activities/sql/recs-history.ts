import type { PoolClient } from '../../db/pool.js';
import { quoteColumn, type LeadsTable } from '../../source/leads-table.js';

/** One chunk's customers and what the recommender reads of them, as of the run's snapshot. */
export interface ChunkHistory {
  /** The chunk's customers (ids as text), in key order. */
  customerIds: string[];
  /** Per purchased (customer, product): the recency weight summed over purchases before the snapshot. */
  purchases: Array<{ customerId: string; productId: string; weight: number }>;
  /** Product id → active, for every product of the products table (a missing one is inactive). */
  active: Map<string, boolean>;
  /** The run's popularity list, best first. */
  popular: Array<{ productId: string; purchases: number }>;
}

/**
 * Reads a chunk's inputs in four set-based statements: its customers, their purchases before the run's
 * snapshot weighted 0.5 ** (age_days / halfLifeDays) and summed per product, the products' active
 * flags and the run's popularity list.
 */
export async function readChunkHistory(
  client: PoolClient,
  p: { runId: string; chunk: number; key: string; products: LeadsTable; purchases: LeadsTable; halfLifeDays: number },
): Promise<ChunkHistory> {
  const key = quoteColumn(p.key);
  const customers = await client.query<{ id: string }>(
    'select lead_id::text as id from scoring.run_leads where run_id = $1 and chunk = $2 order by lead_id',
    [p.runId, p.chunk],
  );
  const purchases = await client.query<{ customer_id: string; product_id: string; weight: number }>(
    `select pu.${key}::text as customer_id, pu.product_id::text as product_id,
            sum(power(0.5, extract(epoch from (s.snapshot_at - pu.occurred_at)) / 86400.0 / $3))::float8 as weight
     from scoring.run_leads r
     join ${p.purchases.sql} pu on pu.${key} = r.lead_id
     cross join (select snapshot_at from scoring.pipeline_runs where run_id = $1) s
     where r.run_id = $1 and r.chunk = $2 and pu.occurred_at < s.snapshot_at
     group by pu.${key}, pu.product_id`,
    [p.runId, p.chunk, p.halfLifeDays],
  );
  const products = await client.query<{ product_id: string; active: boolean }>(
    `select product_id::text as product_id, coalesce(active, false) as active from ${p.products.sql}`,
  );
  const popular = await client.query<{ product_id: string; purchases: number }>(
    'select product_id::text as product_id, purchases from recs.popular_products where run_id = $1 order by rank',
    [p.runId],
  );
  return {
    customerIds: customers.rows.map((r) => r.id),
    purchases: purchases.rows.map((r) => ({ customerId: r.customer_id, productId: r.product_id, weight: r.weight })),
    active: new Map(products.rows.map((r) => [r.product_id, r.active])),
    popular: popular.rows.map((r) => ({ productId: r.product_id, purchases: r.purchases })),
  };
}

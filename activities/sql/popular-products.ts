import type { PoolClient } from '../../db/pool.js';
import { quoteColumn, type LeadsTable } from '../../source/leads-table.js';

/** How many products a run's popularity list keeps: enough for k after a customer's own purchases are removed. */
export const POPULAR_LIST_SIZE = 50;

/**
 * Computes the run's popularity list once, in the extract transaction after the snapshot: active products
 * ranked by purchases in the 4 weeks before the run's snapshot time (ties, and a quiet month, broken by
 * purchases before that), kept in recs.popular_products for every chunk of the run.
 */
export async function snapshotPopularProducts(
  client: PoolClient,
  p: { runId: string; products: LeadsTable; purchases: LeadsTable },
): Promise<number> {
  const product = quoteColumn('product_id');
  const { rowCount } = await client.query(
    `insert into recs.popular_products (run_id, rank, product_id, purchases)
     select $1, row_number() over (order by recent desc, earlier desc, product_id), product_id, recent
     from (
       select pu.${product} as product_id,
              count(*) filter (where pu.occurred_at >= s.snapshot_at - interval '28 days')::int as recent,
              count(*)::int as earlier
       from ${p.purchases.sql} pu
       join ${p.products.sql} pr on pr.${product} = pu.${product}
       cross join (select snapshot_at from scoring.pipeline_runs where run_id = $1) s
       where pr.active and pu.occurred_at < s.snapshot_at
       group by pu.${product}
       order by recent desc, earlier desc, pu.${product}
       limit $2
     ) ranked
     on conflict do nothing`,
    [p.runId, POPULAR_LIST_SIZE],
  );
  return rowCount ?? 0;
}

import type { PoolClient } from '../../db/pool.js';
import { quoteColumn, type LeadsTable } from '../../source/leads-table.js';

/** What every batch of a chunk shares: the products' active flags and the run's popularity list. */
export interface TopKContext {
  /** Product id → active, for every product of the products table (a missing one is inactive). */
  active: Map<string, boolean>;
  /** The run's popularity list, best first. */
  popular: Array<{ productId: string; purchases: number }>;
}

/** Per purchased (customer, product): the recency weight summed over purchases before the snapshot. */
export type WeightedPurchase = { customerId: string; productId: string; weight: number };

/** A chunk's customers (ids as text), in key order. */
export async function readChunkCustomers(client: PoolClient, p: { runId: string; chunk: number }): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    'select lead_id::text as id from scoring.run_leads, unnest(lead_ids) as lead_id where run_id = $1 and chunk = $2 order by lead_id',
    [p.runId, p.chunk],
  );
  return rows.map((r) => r.id);
}

/** The products' active flags and the run's popularity list, read once per chunk. */
export async function readTopKContext(client: PoolClient, p: { runId: string; products: LeadsTable }): Promise<TopKContext> {
  const products = await client.query<{ product_id: string; active: boolean }>(
    `select product_id::text as product_id, coalesce(active, false) as active from ${p.products.sql}`,
  );
  const popular = await client.query<{ product_id: string; purchases: number }>(
    'select product_id::text as product_id, purchases from recs.popular_products where run_id = $1 order by rank',
    [p.runId],
  );
  return {
    active: new Map(products.rows.map((r) => [r.product_id, r.active])),
    popular: popular.rows.map((r) => ({ productId: r.product_id, purchases: r.purchases })),
  };
}

/**
 * The recency weight of one purchase, 0.5 ** (age_days / half-life), in float8 (numeric `power()` per
 * purchase cost the batch read most of its time): `at` and `occurredAt` are timestamp expressions,
 * `halfLifeDays` a parameter placeholder such as `$4`. The batch and the service's live answers both use it.
 */
export function recencyWeightSql(at: string, occurredAt: string, halfLifeDays: string): string {
  return `power(0.5, date_part('epoch', ${at} - ${occurredAt}) / (86400.0 * ${halfLifeDays}::float8))`;
}

/**
 * The purchases before the run's snapshot of the customers with keys in [first, last] (a batch of one
 * chunk: chunks are key ranges), weighted 0.5 ** (age_days / halfLifeDays) in float8 and summed per
 * (customer, product), in one statement: a range scan of the purchases' (key, occurred_at) index. Rows of
 * keys in the range that are not in the run (duplicates it rejected) are left to the caller to drop.
 */
export async function readBatchPurchases(
  client: PoolClient,
  p: { runId: string; first: string; last: string; key: string; purchases: LeadsTable; halfLifeDays: number },
): Promise<WeightedPurchase[]> {
  const key = quoteColumn(p.key);
  const { rows } = await client.query<[string, string, number]>({
    rowMode: 'array',
    text: `select pu.${key}::text as customer_id, pu.product_id::text as product_id,
            sum(${recencyWeightSql('s.snapshot_at', 'pu.occurred_at', '$4')})::float8 as weight
     from ${p.purchases.sql} pu
     cross join (select snapshot_at from scoring.pipeline_runs where run_id = $1) s
     where pu.${key} between $2 and $3 and pu.occurred_at < s.snapshot_at
     group by pu.${key}, pu.product_id`,
    values: [p.runId, p.first, p.last, p.halfLifeDays],
  });
  return rows.map(([customerId, productId, weight]) => ({ customerId, productId, weight }));
}

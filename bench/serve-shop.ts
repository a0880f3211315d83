import type { Pool } from '../db/pool.js';
import type { LeadsTable } from '../source/leads-table.js';

/** The shop tables the bench writes to, ready for SQL. */
export interface ShopSql {
  customers: LeadsTable;
  products: LeadsTable;
  purchases: LeadsTable;
}

/** The product-recs run readers see now, with its as-of date and how many customers it published. */
export async function publishedRecsRun(pool: Pool): Promise<{ runId: string; asOf: string; published: number } | undefined> {
  const { rows } = await pool.query<{ run_id: string; as_of: string; published: number }>(
    `select p.run_id, to_char(r.as_of, 'YYYY-MM-DD') as as_of, coalesce(r.leads_published, 0)::int as published
     from recs.published_run p join scoring.pipeline_runs r using (run_id) where p.pipeline = 'product-recs'`,
  );
  const row = rows[0];
  return row && { runId: row.run_id, asOf: row.as_of, published: row.published };
}

/** The size of the shop bench:serve seeded last in this database (bench.serve_shop), if any. */
export async function seededShop(pool: Pool): Promise<{ customers: number; products: number } | undefined> {
  const { rows } = await pool.query<{ customers: number; products: number }>(
    `select customers, products from bench.serve_shop where to_regclass('bench.serve_shop') is not null`,
  ).catch(() => ({ rows: [] as Array<{ customers: number; products: number }> }));
  return rows[0];
}

/** Records the size of the shop just seeded, so the next bench:serve of that size reuses it. */
export async function recordSeededShop(pool: Pool, o: { customers: number; products: number }): Promise<void> {
  await pool.query('create schema if not exists bench');
  await pool.query('create table if not exists bench.serve_shop (customers int not null, products int not null, seeded_at timestamptz not null default now())');
  await pool.query('truncate bench.serve_shop');
  await pool.query('insert into bench.serve_shop (customers, products) values ($1, $2)', [o.customers, o.products]);
}

/**
 * Adds `count` customers who joined two hours ago and bought 1 to 4 active products since (ids after the
 * highest so far): customers with purchases and no row in any published run, answered live.
 */
export async function addLiveCustomers(pool: Pool, shop: ShopSql, count: number): Promise<string[]> {
  const { rows } = await pool.query<{ customer_id: string }>(
    `with active as (select array_agg(product_id order by product_id) as ids from ${shop.products.sql} where active),
          first as (select coalesce(max(customer_id), 0) as id from ${shop.customers.sql}),
          added as (insert into ${shop.customers.sql} (customer_id, joined_at, updated_at)
                    select first.id + i, now() - interval '2 hours', now() from first, generate_series(1, $1::int) i
                    returning customer_id),
          bought as (insert into ${shop.purchases.sql} (customer_id, product_id, occurred_at, quantity)
                     select a.customer_id, active.ids[1 + ((a.customer_id * 7919 + j * 104729) % cardinality(active.ids))],
                            now() - make_interval(mins => j * 10), 1
                     from added a cross join active cross join lateral generate_series(1, 1 + (a.customer_id % 4)::int) j)
     select customer_id::text from added order by customer_id`,
    [count],
  );
  return rows.map((r) => r.customer_id);
}

/** `count` customers of a run with `source` rows (model or popular), among ids up to `maxId`, in random order. */
export async function sampleRunCustomers(pool: Pool, o: { runId: string; source: 'model' | 'popular'; maxId: number; count: number }): Promise<string[]> {
  const { rows } = await pool.query<{ customer_id: string }>(
    `select customer_id::text from recs.customer_recommendations
     where run_id = $1 and rank = 1 and source = $2 and customer_id <= $3 order by random() limit $4`,
    [o.runId, o.source, o.maxId, o.count],
  );
  return rows.map((r) => r.customer_id);
}

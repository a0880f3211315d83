import type { Pool } from '../../db/pool.js';
import type { LeadsTable } from '../../source/leads-table.js';

/** Every product's name and active flag (a missing flag is inactive): the whole catalogue, a few thousand rows. */
export async function readCatalogue(pool: Pool, products: LeadsTable): Promise<Array<{ productId: string; name: string; active: boolean }>> {
  const { rows } = await pool.query<{ product_id: string; name: string; active: boolean }>(
    `select product_id::text as product_id, name, coalesce(active, false) as active from ${products.sql}`,
  );
  return rows.map((r) => ({ productId: r.product_id, name: r.name, active: r.active }));
}

import type { PoolClient } from '../../db/pool.js';

/**
 * work_mem for a statement over every published row: the store's MERGE and the CRM plan. With PostgreSQL's
 * 4 MB, the MERGE's hash of 1M keys went to disk in 8 batches, and the plan's sorts wrote 30 runs at 1M
 * rows on 15 tapes and needed an extra merge pass from about 2M rows (119 runs at 4M): time per row that
 * grows with the run. With 64 MB a sort of 10M rows writes about 20 runs, merged once.
 */
export const BULK_WORK_MEM = '64MB';

/** Gives the rest of the caller's transaction BULK_WORK_MEM (undone at its end, or by `reset work_mem`). */
export async function useBulkWorkMem(client: PoolClient): Promise<void> {
  await client.query("select set_config('work_mem', $1, true)", [BULK_WORK_MEM]);
}

import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import { encodeCopyField } from '../../db/copy-text.js';
import type { PoolClient } from '../../db/pool.js';
import type { CustomerRecs } from '../../models/top-k.js';

/**
 * Stages a batch of a chunk's recommendations (COPY into recs.staged_recommendations) and the customers
 * who got fewer than k with the reason, in the caller's transaction (the chunk's, which marks it staged at the end).
 */
export async function stageRecs(
  client: PoolClient,
  p: { runId: string; chunk: number; recs: CustomerRecs[]; generatedAt: Date },
): Promise<void> {
  const prefix = `${encodeCopyField(p.runId)}\t${p.chunk}\t`;
  const at = encodeCopyField(p.generatedAt.toISOString());
  const lines = (function* () {
    let out = '';
    for (const r of p.recs) {
      r.items.forEach((item, i) => {
        out += `${prefix}${r.customerId}\t${i + 1}\t${item.productId}\t${item.score}\t${r.source}\t${at}\n`;
      });
      if (out.length > 1 << 16) {
        yield out;
        out = '';
      }
    }
    yield out;
  })();
  await pipeline(
    Readable.from(lines),
    client.query(copyStreams.from(
      'copy recs.staged_recommendations (run_id, chunk, customer_id, rank, product_id, score, source, generated_at) from stdin',
    )),
  );
  const short = p.recs.filter((r) => r.shortReason);
  if (short.length) {
    await client.query(
      `insert into recs.short_recommendations (run_id, customer_id, returned, reason)
       select $1, customer_id, returned, reason from unnest($2::bigint[], $3::int[], $4::text[]) as s(customer_id, returned, reason)
       on conflict do nothing`,
      [p.runId, short.map((r) => r.customerId), short.map((r) => r.items.length), short.map((r) => r.shortReason)],
    );
  }
}

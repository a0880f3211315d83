import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import { encodeCopyField } from '../../db/copy-text.js';
import type { PoolClient } from '../../db/pool.js';
import type { CustomerRecs } from '../../models/top-k.js';

/**
 * Stages a batch of a chunk's recommendations straight into the pipeline's versioned table (`history`,
 * recs.customer_recommendations; readers see a run only once the publish moves the pointer to it, so
 * publishing copies nothing) and the customers who got fewer than k with the reason, in the caller's
 * transaction (the chunk's, which marks it staged at the end).
 */
export async function stageRecs(
  client: PoolClient,
  p: { runId: string; history: string; model: { version: string; sha256: string }; recs: CustomerRecs[]; generatedAt: Date },
): Promise<void> {
  const prefix = `${encodeCopyField(p.runId)}\t`;
  const suffix = `\t${encodeCopyField(p.model.version)}\t${encodeCopyField(p.model.sha256)}\t${encodeCopyField(p.generatedAt.toISOString())}\n`;
  const lines = (function* () {
    let out = '';
    for (const r of p.recs) {
      r.items.forEach((item, i) => {
        out += `${prefix}${r.customerId}\t${i + 1}\t${item.productId}\t${item.score}\t${r.source}${suffix}`;
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
      `copy ${p.history} (run_id, customer_id, rank, product_id, score, source, model_version, model_sha256, generated_at) from stdin`,
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

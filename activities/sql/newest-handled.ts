import type { PoolClient } from '../../db/pool.js';
import { modelTest } from './current-shape.js';

/**
 * Makes the pipeline's watermark know the newest source change time that a published run of its model scored or
 * rejected (scoring.watermarks.newest_handled), when it does not yet: after a model change, a rollback or migration
 * 020. One pass over the current table, once; each publish of the same model then keeps it (publishStagedRun).
 * A current table whose rows name their model may hold rows its owner wrote: nothing is learnt, every candidate is
 * probed.
 */
export async function learnNewestHandled(client: PoolClient, p: { pipeline: string; current: string; modelSha256: string }): Promise<void> {
  const test = await modelTest(client, p.current);
  if (test.perRow) return;
  await client.query(
    `update scoring.watermarks w set newest_handled = coalesce(greatest(
       (select max(c.source_updated_at) from ${p.current} c where ${test.scoredBy('c', '$2')}),
       (select max(rj.source_updated_at) from scoring.rejected_leads rj join scoring.pipeline_runs r using (run_id)
        where r.pipeline = $1 and r.model_sha256 = $2 and r.status = 'published')), '-infinity')
     where w.pipeline = $1 and w.model_sha256 = $2 and w.newest_handled is null
       -- A publish committing meanwhile, unseen by this statement, changes run_id: its rows are counted next time.
       and w.run_id = (select run_id from scoring.watermarks where pipeline = $1)`,
    [p.pipeline, p.modelSha256],
  );
}

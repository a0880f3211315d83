import { ActivityCancellationType, CancellationScope, isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { RunRef, ScoringActivities } from '../activities/index.js';
import { boundedMap } from './bounded-map.js';

/** The challenger's activities: a few attempts only, since the champion's publication does not wait on a broken challenger for long. */
const { pinChallenger, shadowScoreChunk } = proxyActivities<ScoringActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/**
 * The challenger stage: when the pipeline names a challenger model, it scores the run's snapshot into the
 * shadow tables, chunk by chunk. A failing challenger is logged and left incomplete (scoring.shadow_runs
 * shows how far it got): it never stops the champion's run.
 */
export async function scoreChallenger(run: RunRef, chunks: number, concurrency: number): Promise<void> {
  try {
    const pinned = await pinChallenger({ ...run, chunks });
    if (!pinned) return;
    const all = Array.from({ length: chunks }, (_, chunk) => chunk);
    await boundedMap(all, concurrency, async (chunk) => {
      await shadowScoreChunk({ runId: run.runId, pipeline: run.pipeline, chunk, modelSha256: pinned.modelSha256 });
    }, new CancellationScope());
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('the challenger failed; the champion\'s run goes on', { runId: run.runId, error: (err as Error).message });
  }
}

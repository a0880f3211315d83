import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';

/**
 * Database stages: retried with backoff through restarts; typed non-retryable errors stop at once.
 * They heartbeat while their statements run, so a killed worker's stage moves on within 30 s.
 * A cancelled run waits for the activity it cancelled to stop: nothing it started goes on writing after
 * the run is recorded cancelled (the same for the stages below).
 */
export const DATABASE_STAGE: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 30 },
};

/** Inference on one chunk heartbeats every slice, so a killed worker's chunk is retried elsewhere within 20 s. */
export const CHUNK_STAGE: ActivityOptions = { ...DATABASE_STAGE, heartbeatTimeout: '20 seconds' };

/** CRM batches heartbeat; 429s and 5xx are handled inside, so attempts here are for crashes and outages. */
export const CRM_STAGE: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 20 },
};

/** Writing a run's outcome to its audit row. */
export const AUDIT_RECORD: ActivityOptions = { startToCloseTimeout: '1 minute', retry: { maximumAttempts: 10 } };

import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from '../db/pool.js';
import { runsStarted } from '../activities/sql/runs-started.js';
import { nextRunTimes } from '../pipelines/next-runs.js';
import type { PipelineDefinition } from '../pipelines/index.js';
import { businessDate } from '../workflows/scheduled.js';
import { runIdFor } from '../workflows/pipeline.js';
import { scheduleIdFor } from './schedule.js';

/** A time the schedule should have started a run, whose run never reached the database. */
export interface MissedSlot {
  scheduledAt: Date;
  asOf: string;
  runId: string;
}

/** What a pipeline's schedule did not start: expected slots without a run, and Temporal's own counters since it was created. */
export interface ScheduleGaps {
  scheduleId: string;
  paused: boolean;
  /** Actions Temporal skipped because the previous run was still going (overlap policy SKIP). */
  skippedOverlap: number;
  /** Actions Temporal dropped because it was down longer than the catch-up window. */
  missedCatchupWindow: number;
  missed: MissedSlot[];
}

/** How long after its scheduled time a slot's run may take to reach the database before the slot counts as missed. */
export const GRACE_MS = 15 * 60_000;

/**
 * Compares the times the pipeline's schedule should have fired in the last `days` days (from its definition's
 * calendars and simple cron, never before the schedule was created, up to `now` less a grace) with the runs
 * in scoring.pipeline_runs: a slot whose business date has no run was skipped, missed while Temporal was down,
 * paused, or found no worker. Undefined when the pipeline has no schedule.
 */
export async function scheduleGaps(
  deps: { client: Client; pool: Pool },
  def: PipelineDefinition,
  opts: { days: number; now?: Date },
): Promise<ScheduleGaps | undefined> {
  const scheduleId = scheduleIdFor(def.id);
  let d;
  try {
    d = await deps.client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
  const now = opts.now ?? new Date();
  // nextRunTimes looks 15 days ahead of its start.
  const from = new Date(Math.max(d.info.createdAt.getTime(), now.getTime() - Math.min(opts.days, 14) * 86_400_000));
  const until = now.getTime() - GRACE_MS;
  const expected = (nextRunTimes(def, from, 1000) ?? []).filter((t) => t.getTime() <= until);
  const slots = expected.map((scheduledAt) => {
    const asOf = businessDate(scheduledAt, def.schedule.timezone);
    return { scheduledAt, asOf, runId: runIdFor({ pipeline: def.id, asOf }) };
  });
  const started = await runsStarted(deps.pool, slots.map((s) => s.runId));
  return {
    scheduleId,
    paused: d.state.paused,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
    missed: slots.filter((s) => !started.has(s.runId)),
  };
}

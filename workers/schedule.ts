import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import { scheduledLeadScoringWorkflow } from '../workflows/scheduled.js';
import type { Runtime } from './runtime.js';

/** One schedule per pipeline; its id is what operators see under Schedules in the Web UI. */
export const SCHEDULE_ID = 'lead-scoring-daily';

function scheduleOptions(rt: Runtime): ScheduleOptions {
  const { cron, timezone } = rt.config.schedule;
  return {
    scheduleId: SCHEDULE_ID,
    spec: { cronExpressions: [cron], timezone },
    action: {
      type: 'startWorkflow',
      workflowType: scheduledLeadScoringWorkflow,
      workflowId: 'lead-scoring-scheduled',
      taskQueue: rt.config.temporal.taskQueue,
      args: [{ timezone, scoringConcurrency: rt.config.scoring.concurrency }],
    },
    // A run still going at the next tick is left alone; a morning missed while Temporal was down is
    // caught up when it is back, within a day.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
  };
}

/** Creates the daily schedule, or brings an existing one in line with the configured cron and time zone. */
export async function createOrUpdateSchedule(rt: Runtime): Promise<'created' | 'updated'> {
  const client = rt.temporal!.client;
  const options = scheduleOptions(rt);
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(SCHEDULE_ID).update((previous) => ({
      ...previous,
      spec: options.spec,
      action: { ...options.action, workflowType: 'scheduledLeadScoringWorkflow' },
      policies: { ...previous.policies, ...options.policies },
    }));
    return 'updated';
  }
}

export interface ScheduleSummary {
  scheduleId: string;
  cron: string[];
  timezone: string | undefined;
  paused: boolean;
  note: string | undefined;
  nextRuns: string[];
  recentRuns: Array<{ scheduledAt: string; workflowId: string }>;
}

export async function describeSchedule(rt: Runtime): Promise<ScheduleSummary> {
  const d = await rt.temporal!.client.schedule.getHandle(SCHEDULE_ID).describe();
  return {
    scheduleId: SCHEDULE_ID,
    cron: rt.config.schedule.cron ? [rt.config.schedule.cron] : [],
    timezone: d.spec.timezone,
    paused: d.state.paused,
    note: d.state.note,
    nextRuns: d.info.nextActionTimes.slice(0, 5).map((t) => t.toISOString()),
    recentRuns: d.info.recentActions.slice(-5).map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      workflowId: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : '',
    })),
  };
}

export function scheduleHandle(rt: Runtime) {
  return rt.temporal!.client.schedule.getHandle(SCHEDULE_ID);
}

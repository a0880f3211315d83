import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type DayOfWeek, type ScheduleOptions } from '@temporalio/client';
import { LEAD_SCORING, type PipelineDefinition } from '../pipelines/index.js';
import { scheduledLeadScoringWorkflow, scheduledPipelineWorkflow } from '../workflows/scheduled.js';
import { SCOREFLOW_PIPELINE } from '../workflows/search-attributes.js';
import type { Runtime } from './runtime.js';

const DAYS: DayOfWeek[] = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

/**
 * One schedule per pipeline; its id is what operators see under Schedules in the Web UI. Lead scoring's
 * keeps the id it always had, `lead-scoring-daily`: an existing deployment's schedule is then updated in
 * place by `schedule create`, not left running beside a second one that would start every run twice.
 */
export function scheduleIdFor(pipeline: string): string {
  return pipeline === LEAD_SCORING ? 'lead-scoring-daily' : `${pipeline}-schedule`;
}

/** Lead scoring's schedule id, as before pipelines were definitions. */
export const SCHEDULE_ID = scheduleIdFor(LEAD_SCORING);

function scheduleOptions(rt: Runtime, def: PipelineDefinition): ScheduleOptions {
  const { timezone, cron, calendars } = def.schedule;
  const common = {
    taskQueue: rt.config.temporal.taskQueue,
    workflowId: `${def.id}-scheduled`,
    typedSearchAttributes: [{ key: SCOREFLOW_PIPELINE, value: def.id }],
  };
  return {
    scheduleId: scheduleIdFor(def.id),
    spec: {
      ...(cron.length ? { cronExpressions: cron } : {}),
      ...(calendars.length ? { calendars: calendars.map((c) => ({ hour: c.hour, minute: c.minute, ...(c.dayOfWeek === undefined ? {} : { dayOfWeek: DAYS[c.dayOfWeek]! }) })) } : {}),
      timezone,
    },
    // Lead scoring keeps its launcher's workflow type: schedules created before pipelines existed start it.
    action: def.id === LEAD_SCORING
      ? { type: 'startWorkflow', workflowType: scheduledLeadScoringWorkflow, ...common, args: [{ timezone, scoringConcurrency: def.sizing.concurrency }] }
      : { type: 'startWorkflow', workflowType: scheduledPipelineWorkflow, ...common, args: [{ pipeline: def.id, timezone, scoringConcurrency: def.sizing.concurrency }] },
    // A run still going at the next tick is left alone; a time missed while Temporal was down is
    // caught up when it is back, within a day.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
  };
}

/** Creates a pipeline's schedule, or brings an existing one in line with its definition. */
export async function createOrUpdateSchedule(rt: Runtime, pipeline = LEAD_SCORING): Promise<'created' | 'updated'> {
  const client = rt.temporal!.client;
  const def = rt.pipelines.get(pipeline);
  const options = scheduleOptions(rt, def);
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(options.scheduleId).update((previous) => ({
      ...previous,
      spec: options.spec,
      action: { ...options.action, workflowType: def.id === LEAD_SCORING ? 'scheduledLeadScoringWorkflow' : 'scheduledPipelineWorkflow' },
      policies: { ...previous.policies, ...options.policies },
    }));
    return 'updated';
  }
}

export interface ScheduleSummary {
  scheduleId: string;
  pipeline: string;
  cron: string[];
  /** The definition's calendar specs, e.g. "Mon 13:00". */
  calendars: string[];
  timezone: string | undefined;
  paused: boolean;
  note: string | undefined;
  nextRuns: string[];
  recentRuns: Array<{ scheduledAt: string; workflowId: string }>;
}

/** A calendar spec as operators read it: "Mon 13:00", or "daily 06:00". */
export function calendarText(c: PipelineDefinition['schedule']['calendars'][number]): string {
  const time = `${String(c.hour).padStart(2, '0')}:${String(c.minute).padStart(2, '0')}`;
  return `${c.dayOfWeek === undefined ? 'daily' : DAYS[c.dayOfWeek]!.slice(0, 1) + DAYS[c.dayOfWeek]!.slice(1, 3).toLowerCase()} ${time}`;
}

export async function describeSchedule(rt: Runtime, pipeline = LEAD_SCORING): Promise<ScheduleSummary> {
  const def = rt.pipelines.get(pipeline);
  const d = await scheduleHandle(rt, pipeline).describe();
  return {
    scheduleId: scheduleIdFor(pipeline),
    pipeline,
    cron: def.schedule.cron,
    calendars: def.schedule.calendars.map(calendarText),
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

/** The next times the pipeline's Temporal Schedule fires, or undefined when it has none. */
export async function scheduledNextRuns(rt: Runtime, pipeline: string): Promise<{ paused: boolean; nextRuns: Date[] } | undefined> {
  try {
    const d = await scheduleHandle(rt, pipeline).describe();
    return { paused: d.state.paused, nextRuns: d.info.nextActionTimes };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

export function scheduleHandle(rt: Runtime, pipeline = LEAD_SCORING) {
  return rt.temporal!.client.schedule.getHandle(scheduleIdFor(rt.pipelines.get(pipeline).id));
}

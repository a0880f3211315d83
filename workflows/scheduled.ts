import { defineSearchAttributeKey } from '@temporalio/common';
import { executeChild, workflowInfo } from '@temporalio/workflow';
import { leadScoringWorkflow, PIPELINE, type LeadScoringResult } from './lead-scoring.js';
import { pipelineWorkflow, runIdFor, type PipelineResult } from './pipeline.js';

export interface ScheduledPipelineInput extends ScheduledLeadScoringInput {
  pipeline: string;
}

export interface ScheduledLeadScoringInput {
  /** IANA time zone the schedule runs in; the business date is the scheduled time's date there. */
  timezone: string;
  scoringConcurrency?: number;
}

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', 'DATETIME');

/** The business date of the run the Schedule is starting: its scheduled time's date in the time zone. */
function scheduledDate(timezone: string): string {
  const at = workflowInfo().typedSearchAttributes.get(SCHEDULED_START) ?? workflowInfo().startTime;
  return businessDate(at, timezone);
}

/** The business date (YYYY-MM-DD) of an instant in a time zone. */
export function businessDate(at: Date, timezone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/**
 * What the Temporal Schedule starts: works out the business date from the scheduled time and runs that
 * day's leadScoringWorkflow as a child with id lead-scoring-<date>, so every day reads the same in the UI.
 */
export async function scheduledLeadScoringWorkflow(input: ScheduledLeadScoringInput): Promise<LeadScoringResult> {
  const asOf = scheduledDate(input.timezone);
  return executeChild(leadScoringWorkflow, {
    workflowId: `${PIPELINE}-${asOf}`,
    args: [{ asOf, scoringConcurrency: input.scoringConcurrency }],
  });
}

/** What the Schedule of any other pipeline starts: that day's pipelineWorkflow as a child with id <pipeline>-<date>. */
export async function scheduledPipelineWorkflow(input: ScheduledPipelineInput): Promise<PipelineResult> {
  const asOf = scheduledDate(input.timezone);
  return executeChild(pipelineWorkflow, {
    workflowId: runIdFor({ pipeline: input.pipeline, asOf }),
    args: [{ pipeline: input.pipeline, asOf, scoringConcurrency: input.scoringConcurrency }],
  });
}

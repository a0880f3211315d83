import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes of a run, for the Web UI's and CLI's list filters; registered by workers/search-attributes.ts. */
export const SCOREFLOW_PIPELINE = defineSearchAttributeKey('ScoreflowPipeline', SearchAttributeType.KEYWORD);
export const SCOREFLOW_MODEL_VERSION = defineSearchAttributeKey('ScoreflowModelVersion', SearchAttributeType.KEYWORD);
export const SCOREFLOW_STATUS = defineSearchAttributeKey('ScoreflowStatus', SearchAttributeType.KEYWORD);

/** Every custom search attribute scoreflow sets, by name and type: what a cluster must have registered. */
export const SEARCH_ATTRIBUTES = [SCOREFLOW_PIPELINE, SCOREFLOW_MODEL_VERSION, SCOREFLOW_STATUS] as const;

/**
 * A run's status as its search attribute says it, following scoring.pipeline_runs where they overlap:
 * running (started), scoring, storing, published, syncing (CRM after publication), then published,
 * failed or cancelled at the end. Other stages (a gate awaiting approval) add their own values.
 */
export type RunSearchStatus = 'running' | 'scoring' | 'storing' | 'syncing' | 'published' | 'failed' | 'cancelled' | (string & {});

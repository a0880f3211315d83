import type { Pool } from '../db/pool.js';
import type { Logger } from '../lib/logger.js';
import type { ModelSource } from '../models/model-source.js';
import type { RecsModelSource } from '../models/recs-model.js';
import type { PipelineRegistry } from '../pipelines/index.js';
import type { GateOverrides } from '../pipelines/gates.js';
import type { CrmSettings } from './crm-sync.js';

/** What the stage activities need from the process that hosts them. */
export interface ActivityDeps {
  pool: Pool;
  log: Logger;
  /** The pipelines this worker runs: each stage looks its run's definition up by the pipeline id in its input. */
  pipelines: PipelineRegistry;
  /** The models of a model directory, one source per directory: extract pins `current()`; chunks load the pinned model with `bySha()`. */
  modelSource(modelDir: string): ModelSource;
  /** The top-k models of a model directory (pipelines whose output kind is top-k), as modelSource. */
  recsModelSource(modelDir: string): RecsModelSource;
  /** Published runs of a top-k pipeline kept in its versioned table; older ones are deleted at publish. */
  recsKeepRuns: number;
  lookbackHours: number;
  /** Days a run's working rows are kept after it last moved; the store stage prunes older ones. */
  retentionDays: number;
  crm: CrmSettings;
  /** Configuration's overrides of the definitions' quality gates (SCOREFLOW_APPROVAL_TIMEOUT, SCOREFLOW_GATES). */
  gates?: GateOverrides;
}

/** Identifies a run in every activity input: only ids, dates and flags cross Temporal, never lead data. */
export interface RunRef {
  runId: string;
  pipeline: string;
  asOf: string;
}

const RUN_ID = /^[a-z0-9][a-z0-9-]{0,120}$/;

/** Run ids are workflow ids and end up quoted in COPY statements: only lower-case letters, digits and dashes. */
export function assertRunId(runId: string): void {
  if (!RUN_ID.test(runId)) throw new Error(`invalid run id ${JSON.stringify(runId)}: use lower-case letters, digits and dashes`);
}

import type { Config } from '../lib/config.js';
import type { PipelineDefinitionInput } from './definition.js';

/** The lead-scoring pipeline's id: workflow ids `lead-scoring-<date>`, its watermark and audit rows. */
export const LEAD_SCORING = 'lead-scoring';

/**
 * Lead scoring as a definition, from the settings it always had: SCOREFLOW_LEADS_TABLE,
 * SCOREFLOW_MODEL_DIR, SCOREFLOW_CHUNK_SIZE, SCOREFLOW_SCORING_CONCURRENCY and SCOREFLOW_SCHEDULE_CRON in
 * SCOREFLOW_SCHEDULE_TIMEZONE. Its feature columns are whatever its current model card's inputs are.
 */
export function leadScoringDefinition(config: Config): PipelineDefinitionInput {
  return {
    id: LEAD_SCORING,
    source: {
      table: config.source.leadsTable.includes('.') ? config.source.leadsTable : `public.${config.source.leadsTable}`,
      key: 'lead_id',
      change: 'updated_at',
      email: 'email',
    },
    modelDir: config.model.dir,
    output: { kind: 'probability-buckets' },
    sinks: { current: 'scoring.lead_scores_rows', history: 'scoring.lead_score_history_rows' },
    crm: { properties: { score: 'lead_score', bucket: 'lead_score_bucket', modelVersion: 'lead_score_model_version', scoredAt: 'lead_score_scored_at' } },
    schedule: { timezone: config.schedule.timezone, cron: [config.schedule.cron] },
    sizing: { chunkSize: config.scoring.chunkSize, concurrency: config.scoring.concurrency },
    // Incremental: the row count follows the day's changes, so only rejects and the score distribution are held.
    gates: { maxRowChange: null, maxRejectRate: 0.05, maxPsi: 0.25, maxBucketShareChange: 0.15 },
  };
}

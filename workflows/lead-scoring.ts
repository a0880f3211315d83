import { pipelineWorkflow, type PipelineInput, type PipelineResult } from './pipeline.js';

export { progressQuery, runIdFor, type RunProgress } from './pipeline.js';

/** Lead scoring's id; its definition is in pipelines/lead-scoring.ts. */
export const PIPELINE = 'lead-scoring';

export type LeadScoringInput = Omit<PipelineInput, 'pipeline'>;
export type LeadScoringResult = PipelineResult;

/**
 * Lead scoring's business day: the generic pipeline workflow with pipeline 'lead-scoring'. It keeps its own
 * workflow type so that its schedule, the Web UI and the recorded histories in test/histories/ stay as they were.
 */
export async function leadScoringWorkflow(input: LeadScoringInput): Promise<LeadScoringResult> {
  return pipelineWorkflow({ ...input, pipeline: PIPELINE });
}

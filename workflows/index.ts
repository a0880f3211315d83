/** Every workflow the scoreflow worker hosts. */
export { leadScoringWorkflow } from './lead-scoring.js';
export { pipelineWorkflow } from './pipeline.js';
export { scheduledLeadScoringWorkflow, scheduledPipelineWorkflow } from './scheduled.js';
export { rollbackWorkflow } from './rollback.js';

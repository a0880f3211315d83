/** Every workflow the scoreflow worker hosts. */
export { leadScoringWorkflow } from './lead-scoring.js';
export { scheduledLeadScoringWorkflow } from './scheduled.js';

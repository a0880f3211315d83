import { makeRecordRunCancelled, makeRecordRunFailure } from './audit.js';
import type { ActivityDeps } from './deps.js';
import { makeExtract } from './extract.js';
import { makeScoreChunk } from './score.js';
import { makePublishRun } from './store.js';
import { makeCrmSync } from './crm-sync.js';
import { makeShadowScoring } from './shadow-score.js';
import { makeRollback } from './rollback.js';
import { makeEvaluateGate, makeRecordGateDecision } from './gate.js';

export type { ActivityDeps, RunRef } from './deps.js';
export type { ExtractInput, ExtractResult } from './extract.js';
export type { ScoreChunkInput } from './score.js';
export type { PublishCounts } from './sql/publish-run.js';
export type { PublishInput, PublishResult } from './store.js';
export type { ChunkCounts } from './sql/stage-chunk.js';
export type { CancelRequest, RunFailure } from './audit.js';
export type { CrmPlan, CrmSummary, CrmSettings } from './crm-sync.js';
export type { PinnedChallenger, ShadowChunkInput } from './shadow-score.js';
export type { RollbackCounts, RollbackInput } from './rollback.js';
export type { GateDecision, GateVerdict } from './gate.js';

/** The stage activities of every pipeline, bound to one process's pool, pipeline registry, models and settings. */
export function createScoringActivities(deps: ActivityDeps) {
  return {
    extractLeads: makeExtract(deps),
    scoreChunk: makeScoreChunk(deps),
    publishRun: makePublishRun(deps),
    recordRunFailure: makeRecordRunFailure(deps),
    recordRunCancelled: makeRecordRunCancelled(deps),
    ...makeCrmSync(deps),
    ...makeShadowScoring(deps),
    rollbackRun: makeRollback(deps),
    evaluateGate: makeEvaluateGate(deps),
    recordGateDecision: makeRecordGateDecision(deps),
  };
}

export type ScoringActivities = ReturnType<typeof createScoringActivities>;

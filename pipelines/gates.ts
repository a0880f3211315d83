import { msToNumber } from '@temporalio/common/lib/time.js';
import { z } from 'zod';

/** A Temporal duration such as '24h', '30m' or '90s'. */
export const durationSchema = z.string().refine((d) => {
  try {
    return msToNumber(d as Parameters<typeof msToNumber>[0]) > 0;
  } catch {
    return false;
  }
}, { message: 'must be a duration such as "24h", "30m" or "90s"' });

/**
 * A pipeline's quality gate: how far a run may move from the pipeline's last published run before a
 * person has to approve it. A threshold left null is not checked.
 */
export const gatesSchema = z.object({
  /** Largest relative change of the row count, |rows - baseline| / baseline (null: incremental runs vary by design). */
  maxRowChange: z.number().min(0).nullable().default(null),
  /** Largest share of rejected rows among the run's extracted rows. */
  maxRejectRate: z.number().min(0).max(1).nullable().default(0.05),
  /** Largest population stability index of the scores (card buckets, or the baseline's deciles for top-k). */
  maxPsi: z.number().min(0).nullable().default(0.25),
  /** Largest change of any bucket's share, in share points (0.1 = ten points). */
  maxBucketShareChange: z.number().min(0).max(1).nullable().default(0.15),
  /** top-k: least share of the active products that is recommended to someone. */
  minCoverage: z.number().min(0).max(1).nullable().default(null),
  /** top-k: largest share of all recommendations taken by the single most recommended product. */
  maxTopItemShare: z.number().min(0).max(1).nullable().default(null),
  /** Runs with fewer rows than this are too small to compare: every check passes with a note. */
  minRows: z.number().int().min(0).default(1000),
  /** How long a breached run waits for a person's decision. */
  approvalTimeout: durationSchema.default('24h'),
  /** The decision taken when nobody decides within approvalTimeout. */
  onTimeout: z.enum(['approve', 'reject']).default('reject'),
}).strict();

export type GateThresholds = z.infer<typeof gatesSchema>;
export type GateThresholdsInput = z.input<typeof gatesSchema>;

/** Overrides of the definitions' gates from configuration: SCOREFLOW_APPROVAL_TIMEOUT and SCOREFLOW_GATES. */
export interface GateOverrides {
  approvalTimeout?: string;
  /** Per pipeline id, thresholds that replace the definition's. */
  byPipeline: Record<string, Partial<GateThresholds>>;
}

/** The thresholds a run of `pipeline` is held to: the definition's, then configuration's overrides. */
export function resolveGates(pipeline: string, gates: GateThresholds | undefined, overrides?: GateOverrides): GateThresholds {
  return gatesSchema.parse({
    ...gates,
    ...overrides?.byPipeline[pipeline],
    ...(overrides?.approvalTimeout ? { approvalTimeout: overrides.approvalTimeout } : {}),
  });
}

import { withTransaction } from '../db/pool.js';
import { resolveGates, type GateThresholds } from '../pipelines/gates.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { assertRunId, type ActivityDeps, type RunRef } from './deps.js';
import { breachLines, evaluateGate, type RunMetrics } from './gate-checks.js';
import { stagePipeline } from './pipeline.js';
import { lastPublishedRun, publishedBucketMetrics, stagedBucketMetrics, storedBucketMetrics, topKMetrics } from './sql/gate-metrics.js';
import { gateReports, saveGateDecision, saveGateReport } from './sql/gate-report.js';
import { withHeartbeats } from './with-heartbeats.js';

/** What the workflow learns from the gate: the verdict, why, and how long to wait for a person. No row data. */
export interface GateVerdict {
  verdict: 'pass' | 'breach';
  /** One line per breached check, e.g. "psi 0.41 > 0.25 (last published: …)". */
  reasons: string[];
  note: string | null;
  baselineRunId: string | null;
  approvalTimeout: string;
  onTimeout: 'approve' | 'reject';
  scored: number;
  rejected: number;
  /** Set for a run published before (a rerun of its date): the decision it was published with, or null if it passed. */
  alreadyPublished?: { decision: GateDecision | null };
}

/** A decision on a breached run: from a person (the `decide` signal or update) or the timeout's default. */
export interface GateDecision {
  decision: 'approve' | 'reject';
  by: string;
  reason: string | null;
  via: 'signal' | 'update' | 'timeout';
}

/**
 * The gate before the store stage: compares the run's staged results with the pipeline's last published
 * run, stores the report with the run, and marks the run awaiting approval on a breach.
 */
export function makeEvaluateGate(deps: ActivityDeps) {
  return (ref: RunRef): Promise<GateVerdict> => withHeartbeats(() => judgeRun(deps, ref));
}

/** The gate's verdict on a run, its report stored (see makeEvaluateGate); the store stage calls it too, to judge and publish in one activity. */
export async function judgeRun(deps: ActivityDeps, ref: RunRef): Promise<GateVerdict> {
  assertRunId(ref.runId);
  const { definition, sinks } = stagePipeline(deps, ref.pipeline);
  const thresholds = resolveGates(ref.pipeline, definition.gates, deps.gates);
  const published = await publishedVerdict(deps.pool, ref.runId, thresholds);
  if (published) return published;
  const baseline = await lastPublishedRun(deps.pool, ref.pipeline, ref.runId);
  let run: RunMetrics;
  let base: RunMetrics | null = null;
  if (definition.output.kind === 'top-k') {
    const productsTable = parseLeadsTable(definition.source.tables!.products).sql;
    // Chunks stage a top-k run's rows straight into the versioned table, which readers see only once published.
    const edgesFrom = { table: sinks.history, runId: baseline ? baseline.runId : ref.runId };
    run = await topKMetrics(deps.pool, { table: sinks.history, runId: ref.runId, productsTable, edgesFrom });
    if (baseline) base = await topKMetrics(deps.pool, { table: sinks.history, runId: baseline.runId, productsTable, edgesFrom, rejected: baseline.rejected });
  } else {
    run = await stagedBucketMetrics(deps.pool, ref.runId);
    if (baseline) base = await storedBucketMetrics(deps.pool, baseline) ?? await publishedBucketMetrics(deps.pool, sinks.history, baseline);
  }
  const evaluation = evaluateGate(run, base, thresholds);
  await withTransaction(deps.pool, (client) => saveGateReport(client, {
    runId: ref.runId, pipeline: ref.pipeline, baselineRunId: baseline?.runId ?? null, ...evaluation,
    approvalTimeout: thresholds.approvalTimeout, onTimeout: thresholds.onTimeout,
    runMetrics: definition.output.kind === 'top-k' ? null : run,
  }));
  const reasons = breachLines(evaluation.checks);
  deps.log.info({ runId: ref.runId, verdict: evaluation.verdict, reasons, note: evaluation.note }, 'quality gate evaluated');
  return {
    verdict: evaluation.verdict, reasons, note: evaluation.note, baselineRunId: baseline?.runId ?? null,
    approvalTimeout: thresholds.approvalTimeout, onTimeout: thresholds.onTimeout, scored: run.rows, rejected: run.rejected,
  };
}

/** A rerun of a published date is not judged again: it answers what the run was published with (its staged rows are gone). */
async function publishedVerdict(pool: ActivityDeps['pool'], runId: string, t: GateThresholds): Promise<GateVerdict | null> {
  const { rows } = await pool.query<{ status: string; leads_scored: number | null; leads_rejected: number | null }>(
    'select status, leads_scored, leads_rejected from scoring.pipeline_runs where run_id = $1', [runId]);
  if (rows[0]?.status !== 'published') return null;
  const report = (await gateReports(pool, [runId])).get(runId);
  const decision: GateDecision | null = report?.decision
    ? { decision: report.decision, by: report.decided_by ?? '', reason: report.decision_reason, via: report.decided_via ?? 'signal' }
    : null;
  return {
    verdict: report?.verdict ?? 'pass', reasons: report ? breachLines(report.checks) : [], note: report?.note ?? 'published before the quality gate existed',
    baselineRunId: report?.baseline_run_id ?? null, approvalTimeout: report?.approval_timeout ?? t.approvalTimeout, onTimeout: report?.on_timeout ?? t.onTimeout,
    scored: rows[0].leads_scored ?? 0, rejected: rows[0].leads_rejected ?? 0, alreadyPublished: { decision },
  };
}

/** Records the decision on a breached run in its gate report and audit row (a rejected run becomes `rejected`). */
export function makeRecordGateDecision(deps: ActivityDeps) {
  return async (d: RunRef & GateDecision): Promise<void> => {
    assertRunId(d.runId);
    await withTransaction(deps.pool, (client) => saveGateDecision(client, d));
    deps.log.info({ runId: d.runId, decision: d.decision, via: d.via }, 'quality gate decided');
  };
}

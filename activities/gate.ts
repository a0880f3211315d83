import { withTransaction } from '../db/pool.js';
import { resolveGates } from '../pipelines/gates.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { assertRunId, type ActivityDeps, type RunRef } from './deps.js';
import { breachLines, evaluateGate, type RunMetrics } from './gate-checks.js';
import { stagePipeline } from './pipeline.js';
import { lastPublishedRun, publishedBucketMetrics, STAGED_TOP_K, stagedBucketMetrics, topKMetrics } from './sql/gate-metrics.js';
import { saveGateDecision, saveGateReport } from './sql/gate-report.js';
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
}

/** A decision on a breached run: from a person (the `decide` signal) or the timeout's default. */
export interface GateDecision {
  decision: 'approve' | 'reject';
  by: string;
  reason: string | null;
  via: 'signal' | 'timeout';
}

/**
 * The gate before the store stage: compares the run's staged results with the pipeline's last published
 * run, stores the report with the run, and marks the run awaiting approval on a breach.
 */
export function makeEvaluateGate(deps: ActivityDeps) {
  return (ref: RunRef): Promise<GateVerdict> => withHeartbeats(async () => {
    assertRunId(ref.runId);
    const { definition, sinks } = stagePipeline(deps, ref.pipeline);
    const thresholds = resolveGates(ref.pipeline, definition.gates, deps.gates);
    const baseline = await lastPublishedRun(deps.pool, ref.pipeline, ref.runId);
    let run: RunMetrics;
    let base: RunMetrics | null = null;
    if (definition.output.kind === 'top-k') {
      const productsTable = parseLeadsTable(definition.source.tables!.products).sql;
      const edgesFrom = baseline ? { table: sinks.history, runId: baseline.runId } : { table: STAGED_TOP_K, runId: ref.runId };
      run = await topKMetrics(deps.pool, { table: STAGED_TOP_K, runId: ref.runId, productsTable, edgesFrom });
      if (baseline) base = await topKMetrics(deps.pool, { table: sinks.history, runId: baseline.runId, productsTable, edgesFrom, rejected: baseline.rejected });
    } else {
      run = await stagedBucketMetrics(deps.pool, ref.runId);
      if (baseline) base = await publishedBucketMetrics(deps.pool, sinks.history, baseline);
    }
    const evaluation = evaluateGate(run, base, thresholds);
    await withTransaction(deps.pool, (client) => saveGateReport(client, {
      runId: ref.runId, pipeline: ref.pipeline, baselineRunId: baseline?.runId ?? null, ...evaluation,
      approvalTimeout: thresholds.approvalTimeout, onTimeout: thresholds.onTimeout,
    }));
    const reasons = breachLines(evaluation.checks);
    deps.log.info({ runId: ref.runId, verdict: evaluation.verdict, reasons, note: evaluation.note }, 'quality gate evaluated');
    return {
      verdict: evaluation.verdict, reasons, note: evaluation.note, baselineRunId: baseline?.runId ?? null,
      approvalTimeout: thresholds.approvalTimeout, onTimeout: thresholds.onTimeout, scored: run.rows, rejected: run.rejected,
    };
  });
}

/** Records the decision on a breached run in its gate report and audit row (a rejected run becomes `rejected`). */
export function makeRecordGateDecision(deps: ActivityDeps) {
  return async (d: RunRef & GateDecision): Promise<void> => {
    assertRunId(d.runId);
    await withTransaction(deps.pool, (client) => saveGateDecision(client, d));
    deps.log.info({ runId: d.runId, decision: d.decision, via: d.via }, 'quality gate decided');
  };
}

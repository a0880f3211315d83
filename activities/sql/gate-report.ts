import type { Pool, PoolClient } from '../../db/pool.js';
import type { GateCheck, RunMetrics } from '../gate-checks.js';

/** A run's stored gate report, with the decision once one is made. */
export interface GateReport {
  run_id: string;
  pipeline: string;
  baseline_run_id: string | null;
  verdict: 'pass' | 'breach';
  checks: GateCheck[];
  note: string | null;
  evaluated_at: Date;
  approval_timeout: string | null;
  on_timeout: 'approve' | 'reject' | null;
  decision: 'approve' | 'reject' | null;
  decided_by: string | null;
  decision_reason: string | null;
  decided_via: 'signal' | 'update' | 'timeout' | null;
  decided_at: Date | null;
}

/**
 * Stores the gate's report (replacing one of an earlier attempt of the run, decision included) and, on a
 * breach, marks the run awaiting approval.
 */
export async function saveGateReport(
  client: PoolClient,
  r: {
    runId: string; pipeline: string; baselineRunId: string | null; verdict: 'pass' | 'breach'; checks: GateCheck[]; note: string | null;
    approvalTimeout: string; onTimeout: 'approve' | 'reject';
    /** The run's own rows per bucket, which the next run's gate reads as its baseline's (null where they depend on the baseline, as top-k deciles do). */
    runMetrics: Pick<RunMetrics, 'rows' | 'bins'> | null;
  },
): Promise<void> {
  await client.query(
    `insert into scoring.run_gate_reports (run_id, pipeline, baseline_run_id, verdict, checks, note, approval_timeout, on_timeout, run_metrics)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     on conflict (run_id) do update set
       baseline_run_id = excluded.baseline_run_id, verdict = excluded.verdict, checks = excluded.checks, note = excluded.note,
       approval_timeout = excluded.approval_timeout, on_timeout = excluded.on_timeout, run_metrics = excluded.run_metrics, evaluated_at = now(),
       decision = null, decided_by = null, decision_reason = null, decided_via = null, decided_at = null`,
    [r.runId, r.pipeline, r.baselineRunId, r.verdict, JSON.stringify(r.checks), r.note, r.approvalTimeout, r.onTimeout,
      r.runMetrics && JSON.stringify({ rows: r.runMetrics.rows, bins: r.runMetrics.bins })],
  );
  if (r.verdict === 'breach') {
    await client.query("update scoring.pipeline_runs set status = 'awaiting-approval', updated_at = now() where run_id = $1 and status <> 'published'", [r.runId]);
  }
}

/** Records who decided what and why; a rejection marks the run `rejected` (nothing of it is published). */
export async function saveGateDecision(
  client: PoolClient,
  d: { runId: string; decision: 'approve' | 'reject'; by: string; reason: string | null; via: 'signal' | 'update' | 'timeout' },
): Promise<void> {
  await client.query(
    `update scoring.run_gate_reports set decision = $2, decided_by = $3, decision_reason = $4, decided_via = $5, decided_at = now()
     where run_id = $1`,
    [d.runId, d.decision, d.by, d.reason, d.via],
  );
  await client.query(
    `update scoring.pipeline_runs
     set status = case when $2 = 'reject' then 'rejected' else 'storing' end,
         finished_at = case when $2 = 'reject' then now() else finished_at end, updated_at = now()
     where run_id = $1 and status = 'awaiting-approval'`,
    [d.runId, d.decision],
  );
}

/** The gate reports of `runIds` (one query), by run id. */
export async function gateReports(db: Pool | PoolClient, runIds: string[]): Promise<Map<string, GateReport>> {
  const { rows } = await db.query<GateReport>('select * from scoring.run_gate_reports where run_id = any($1::text[])', [runIds]);
  return new Map(rows.map((r) => [r.run_id, r]));
}

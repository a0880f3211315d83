import { recentRuns, type RunReport } from '../db/reports.js';
import { runsTable } from './format.js';
import { scheduleGaps, type ScheduleGaps } from './missed-runs.js';
import type { Runtime } from './runtime.js';

/** A scheduled slot that did not start, as a `scoreflow runs --json` entry beside the runs. */
export interface MissedRunEntry {
  run_id: string;
  as_of: string;
  status: 'missed';
  scheduled_at: string;
}

/** `scoreflow runs`: the pipeline's recent runs and, with Temporal, its scheduled slots of the last `missedDays` days that never started. */
export async function listRuns(rt: Runtime, o: { pipeline: string; limit: number; missedDays: number }): Promise<{ runs: RunReport[]; gaps?: ScheduleGaps }> {
  const runs = await recentRuns(rt.pool, o.limit, o.pipeline);
  const gaps = rt.temporal && o.missedDays > 0
    ? await scheduleGaps({ client: rt.temporal.client, pool: rt.pool }, rt.pipelines.get(o.pipeline), { days: o.missedDays })
    : undefined;
  return { runs, gaps };
}

/** Runs and missed slots in one list, newest first (JSON). */
export function runsWithMissed({ runs, gaps }: { runs: RunReport[]; gaps?: ScheduleGaps }): Array<RunReport | MissedRunEntry> {
  const missed: MissedRunEntry[] = (gaps?.missed ?? []).map((m) => ({ run_id: m.runId, as_of: m.asOf, status: 'missed', scheduled_at: m.scheduledAt.toISOString() }));
  const at = (r: RunReport | MissedRunEntry) => ('scheduled_at' in r ? Date.parse(r.scheduled_at) : r.started_at.getTime());
  return [...runs, ...missed].sort((a, b) => at(b) - at(a));
}

/** The runs table, missed slots as rows with status `missed`, and what Temporal's schedule skipped or dropped. */
export function runsText(list: { runs: RunReport[]; gaps?: ScheduleGaps }, gate?: (runId: string) => string): string {
  const rows = runsWithMissed(list).map((r) => ('scheduled_at' in r ? missedRow(r) : r));
  const lines = [rows.length ? runsTable(rows, gate) : 'no runs yet: try `scoreflow run`'];
  const g = list.gaps;
  if (g && (g.skippedOverlap || g.missedCatchupWindow)) {
    lines.push(`schedule ${g.scheduleId}: ${g.skippedOverlap} action(s) skipped because a run was still going, ${g.missedCatchupWindow} missed while Temporal was down past the catch-up window (since it was created)`);
  }
  if (g?.missed.length) lines.push(`missed: scheduled times without a run; start one with \`scoreflow run --as-of <date>\`${g.paused ? ' (the schedule is paused)' : ''}`);
  return lines.join('\n');
}

function missedRow(m: MissedRunEntry): RunReport {
  const none = null;
  return {
    run_id: m.run_id, as_of: m.as_of, status: 'missed', model_version: none, model_sha256: none, leads_extracted: none, leads_scored: none,
    leads_rejected: none, leads_published: none, extract_ms: none, score_ms: none, store_ms: none, error_type: none,
    error_message: `scheduled ${m.scheduled_at}, did not start`, started_at: new Date(m.scheduled_at), finished_at: none, temporal_run_id: none,
    crm_status: none, crm_target: none, crm_sent: none, crm_unchanged: none, crm_failed: none, crm_skipped: none, crm_deferred: none,
    crm_calls: none, crm_rate_limited: none, crm_ms: none, cancelled_by: none, cancel_reason: none, cancelled_at: none,
    kind: 'run', rolled_back_from: none,
  };
}

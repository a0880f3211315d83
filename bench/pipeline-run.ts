import { performance } from 'node:perf_hooks';
import { runReport, type RunReport } from '../db/reports.js';
import { exportHistory } from '../workers/history.js';
import { startRun } from '../workers/run-pipeline.js';
import type { Runtime } from '../workers/runtime.js';

/** One run of the real workflow through Temporal, with its audit row and the size of its history. */
export interface MeasuredRun {
  runId: string;
  /** From starting the workflow to its result, as the caller sees it. */
  wallMs: number;
  report: RunReport;
  historyEvents: number;
  /** The history as JSON, as `temporal workflow show -o json` and the Web UI download it. */
  historyBytes: number;
}

export async function measureRun(rt: Runtime, p: { asOf: string; crm: boolean; pipeline?: string }): Promise<MeasuredRun> {
  const start = performance.now();
  const handle = await startRun(rt, { asOf: p.asOf, full: false, crm: p.crm, ...(p.pipeline ? { pipeline: p.pipeline } : {}) });
  const result = await handle.result();
  const wallMs = performance.now() - start;
  const report = await runReport(rt.pool, result.runId);
  if (report?.status !== 'published') throw new Error(`run ${result.runId} ended ${report?.status ?? 'without an audit row'}`);
  const history = JSON.parse(await exportHistory(rt, handle.workflowId)) as { events: unknown[] };
  return {
    runId: result.runId,
    wallMs,
    report,
    historyEvents: history.events.length,
    historyBytes: Buffer.byteLength(JSON.stringify(history)),
  };
}

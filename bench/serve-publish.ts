import { performance } from 'node:perf_hooks';
import { runReport } from '../db/reports.js';
import { PRODUCT_RECS } from '../pipelines/index.js';
import { progressQuery } from '../workflows/pipeline.js';
import { startRun } from '../workers/run-pipeline.js';
import type { Runtime } from '../workers/runtime.js';
import { secs } from './report.js';
import type { ServeMeasurements } from './serve-figures.js';
import { latencyOf, runLoad, type Pick } from './serve-load.js';
import type { ServeProcess } from './serve-process.js';

/** The day after an ISO date: each bench run publishes as of the day after the run it starts from. */
export const nextDay = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

/**
 * Starts the next product-recs run (a day after `fromRun`) and, from its store stage until `o.after` seconds
 * after the first answer from the new run, loads the service with the mix: the figures before and after the switch.
 */
export async function loadAcrossPublish(
  rt: Runtime,
  o: { connections: number; rate: number; after: number; say: (line: string) => void },
  p: { service: ServeProcess; apiKey: string; fromRun: { runId: string; asOf: string }; pick: () => Pick },
): Promise<NonNullable<ServeMeasurements['publish']>> {
  const asOf = nextDay(p.fromRun.asOf);
  o.say(`the next run (${asOf}) with a scoreflow worker process; the mix runs from its store stage to ${o.after} s after the service switches`);
  const handle = await startRun(rt, { pipeline: PRODUCT_RECS, asOf, full: false, crm: false });
  const runStarted = performance.now();
  for (;;) {
    const progress = await handle.query(progressQuery);
    if (progress.stage === 'store' || progress.stage === 'done') break;
    if (progress.stage === 'failed' || progress.stage === 'cancelled') throw new Error(`run ${handle.workflowId} ended ${progress.stage}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const storeAfterMs = performance.now() - runStarted;
  let finished: number | undefined;
  const result = handle.result().then((r) => {
    finished = performance.now();
    return r;
  });
  const loadStart = performance.now();
  const { result: publishing, samples } = await runLoad({
    url: p.service.url, apiKey: p.apiKey, connections: o.connections, rate: o.rate, seconds: 3600, pick: p.pick, inspect: true,
    until: (elapsed, runs) => {
      const switched = runs.find((r) => r.runId !== p.fromRun.runId);
      if (switched) return elapsed > switched.firstMs + o.after * 1000;
      return elapsed > 900_000 || (finished !== undefined && performance.now() - finished > 60_000);
    },
  });
  const { runId } = await result;
  const report = await runReport(rt.pool, runId);
  const switched = publishing.runs.find((r) => r.runId === runId);
  const publishedAtMs = finished! - loadStart;
  o.say(switched
    ? `the service answered from ${runId} ${secs(switched.firstMs - publishedAtMs)} after the workflow returned`
    : `the service never answered from ${runId}`);
  return {
    ...publishing, runId, status: report?.status ?? 'unknown', storeMs: report?.store_ms ?? null, storeAfterMs,
    switchedAtMs: switched?.firstMs ?? null, publishedAtMs,
    beforeSwitch: latencyOf(samples, (i) => !switched || samples.at[i]! < switched.firstMs),
    afterSwitch: latencyOf(samples, (i) => switched !== undefined && samples.at[i]! >= switched.firstMs),
  };
}

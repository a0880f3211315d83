#!/usr/bin/env node
/**
 * The incremental morning, where its time goes: a full run of `--leads`, then `--mornings` mornings with
 * `--changed` of the leads changed before each, and per morning its wall time, its share of the full run
 * and its workflow history as a timeline (each activity from scheduled to completed, and the workflow
 * tasks between). `npm run -s build && node dist/bench/mornings.js --leads 1000000 --mornings 3 [--checkpoint] [--rotate]`; its own
 * PostgreSQL, Temporal and sandbox under .scoreflow/bench-mornings, ports 5499, 7249, 8249 and 8099.
 */
import fs from 'node:fs';
import { Command } from 'commander';
import { loadConfig } from '../lib/config.js';
import { makeLogger } from '../lib/logger.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { exportHistory } from '../workers/history.js';
import { openRuntime } from '../workers/runtime.js';
import { changeBenchLeads, seedBenchLeads } from './bench-db.js';
import { benchEnv } from './bench-env.js';
import { measureRun } from './pipeline-run.js';
import { positiveInt } from './report.js';
import { startWorkerProcess } from './worker-process.js';

interface HistoryEvent {
  eventId: string;
  eventTime: string;
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  activityTaskCompletedEventAttributes?: { scheduledEventId: string };
}

/** The history as lines: each activity's span and the workflow tasks, in ms from the workflow's start. */
function timeline(events: HistoryEvent[]): string[] {
  const t0 = Date.parse(events[0]!.eventTime);
  const at = (e: HistoryEvent) => Date.parse(e.eventTime) - t0;
  const scheduled = new Map<string, HistoryEvent>();
  const lines: string[] = [];
  let tasks = 0;
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes) scheduled.set(e.eventId, e);
    if (e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED') tasks++;
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const from = scheduled.get(done.scheduledEventId)!;
      lines.push(`${String(at(from)).padStart(6)} → ${String(at(e)).padStart(6)} ms  ${from.activityTaskScheduledEventAttributes!.activityType.name}`);
    }
  }
  lines.push(`${String(at(events.at(-1)!)).padStart(15)} ms  workflow completed, after ${tasks} workflow tasks`);
  return lines;
}

const opts = new Command('mornings')
  .option('--leads <n>', 'leads in the full run', positiveInt, 1_000_000)
  .option('--mornings <n>', 'incremental mornings after it', positiveInt, 3)
  .option('--changed <n>', 'one lead in n changed before each morning', positiveInt, 100)
  .option('--checkpoint', 'a checkpoint before each morning, as a real morning comes after one (its writes then log whole pages)')
  .option('--rotate', 'other leads change each morning (the last morning\'s are then in its lookback), not the same ones')
  .parse()
  .opts<{ leads: number; mornings: number; changed: number; checkpoint?: boolean; rotate?: boolean }>();

const say = (line: string) => process.stdout.write(`${line}\n`);
const env = benchEnv({ dir: 'bench-mornings', pgPort: 5499, temporalPort: 7249, uiPort: 8249, sandboxPort: 8099, taskQueue: 'bench-mornings' });
fs.rmSync(env['SCOREFLOW_HOME']!, { recursive: true, force: true });
const config = loadConfig(env);
const rt = await openRuntime(config, makeLogger('warn'), { temporal: true });
try {
  const table = parseLeadsTable(config.source.leadsTable);
  await seedBenchLeads(rt, opts.leads);
  const worker = await startWorkerProcess(rt);
  try {
    const day = (n: number) => `2026-11-${String(n).padStart(2, '0')}`;
    const full = await measureRun(rt, { asOf: day(2), crm: false });
    say(`full run of ${opts.leads} leads: ${full.wallMs.toFixed(0)} ms`);
    for (let m = 0; m < opts.mornings; m++) {
      await changeBenchLeads(rt, table, `lead_id % ${opts.changed} = ${opts.rotate ? m % opts.changed : 0}`);
      if (opts.checkpoint) await rt.pool.query('checkpoint');
      const morning = await measureRun(rt, { asOf: day(3 + m), crm: false });
      const history = JSON.parse(await exportHistory(rt, `lead-scoring-${day(3 + m)}`)) as { events: HistoryEvent[] };
      const { extract_ms: extract, store_ms: store } = morning.report;
      say(`\nmorning ${m + 1}: ${morning.wallMs.toFixed(0)} ms = ${((100 * morning.wallMs) / full.wallMs).toFixed(1)}% of the full run (extract ${extract} ms, store ${store} ms)`);
      for (const line of timeline(history.events)) say(line);
    }
  } finally {
    await worker.stop();
  }
} finally {
  await rt.close();
}
process.exit(0);

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Long from 'long';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { makeLogger } from '../../lib/logger.js';
import { SANDBOX_TOKEN } from '../../sandbox/server.js';
import { SHOP_TABLES } from '../../pipelines/index.js';
import { seedShop } from '../../source/seed-shop.js';
import { startRun } from '../../workers/run-pipeline.js';
import { createOrUpdateSchedule, scheduleHandle } from '../../workers/schedule.js';
import { scheduleGaps } from '../../workers/missed-runs.js';
import { startMetricsServer } from '../../workers/metrics-server.js';
import { registerRunGauges } from '../../workers/run-gauges.js';
import { ensureSearchAttributes } from '../../workers/search-attributes.js';
import { freePort } from '../support/free-port.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.js';
import { cliEnv, scoreflow } from '../support/scoreflow-cli.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'workers', 'cli.js');
const harnesses: Harness[] = [];
const children: ChildProcess[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const c of closers.splice(0)) await c();
  for (const h of harnesses.splice(0)) await h.close();
});

async function harness(env: Record<string, string> = {}, opts: Parameters<typeof makeHarness>[1] = {}): Promise<Harness> {
  const h = await makeHarness(env, opts);
  harnesses.push(h);
  return h;
}

/** `scoreflow worker` as its own process on the harness's task queue, with its metrics on `port`. */
function startWorkerProcess(h: Harness, port: number): void {
  children.push(spawn('node', [CLI, 'worker'], {
    env: {
      PATH: process.env['PATH'], HOME: process.env['HOME'], LOG_LEVEL: 'warn',
      DATABASE_URL: h.config.database.url, TEMPORAL_ADDRESS: h.rt.temporal!.address, TEMPORAL_NAMESPACE: h.config.temporal.namespace,
      SCOREFLOW_TASK_QUEUE: h.config.temporal.taskQueue, SCOREFLOW_CHUNK_SIZE: String(h.config.scoring.chunkSize),
      HUBSPOT_BASE_URL: h.sandbox.url, HUBSPOT_ACCESS_TOKEN: SANDBOX_TOKEN, SCOREFLOW_CRM_SYNC_MODE: h.config.crm.syncMode,
      SCOREFLOW_METRICS_PORT: String(port), SCOREFLOW_CRM_RATE_PER_10S: String(h.config.crm.ratePer10s),
    },
    stdio: 'ignore',
  }));
}

async function scrape(port: number) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, samples: parsePrometheusText(text) };
}

/** Polls `check` until it returns true (visibility and schedule info are eventually consistent). */
async function eventually(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('metrics', () => {
  it("a worker's /metrics exposes scoreflow's named series with the run's figures, and the Temporal SDK's", async () => {
    // Ten CRM calls per ten seconds: the sync's calls wait for the shared budget; two are answered 429.
    const h = await harness({ SCOREFLOW_CRM_RATE_PER_10S: '10' }, { worker: false });
    await h.seed(300);
    h.sandbox.setFaults({ force429: 2 });
    const port = await freePort();
    startWorkerProcess(h, port);
    const result = await (await startRun(h.rt, { asOf: '2026-10-05', full: false })).result();
    expect(result.published).toBeGreaterThan(0);

    const { text, samples } = await scrape(port);
    const lead = { pipeline: 'lead-scoring' };
    expect(sampleValue(samples, 'scoreflow_rows_total', { ...lead, stage: 'extract', outcome: 'extracted' })).toBe(result.extracted);
    expect(sampleValue(samples, 'scoreflow_rows_total', { ...lead, stage: 'batch-score', outcome: 'scored' })).toBe(result.scored);
    expect(sampleValue(samples, 'scoreflow_rows_total', { ...lead, stage: 'store', outcome: 'published' })).toBe(result.published);
    expect(sampleValue(samples, 'scoreflow_rows_total', { ...lead, stage: 'crm-sync', outcome: 'sent' })).toBe(result.crm!.sent);
    expect(sampleValue(samples, 'scoreflow_stage_duration_seconds_count', { ...lead, stage: 'batch-score', outcome: 'ok' })).toBe(result.chunks);
    expect(sampleValue(samples, 'scoreflow_stage_duration_seconds_count', { ...lead, stage: 'store', outcome: 'ok' })).toBe(1);
    expect(sampleValue(samples, 'scoreflow_crm_calls_total', lead)).toBe(result.crm!.calls);
    expect(sampleValue(samples, 'scoreflow_crm_rate_limited_total', lead)).toBe(2);
    expect(result.crm!.rateLimited).toBe(2);
    expect(sampleValue(samples, 'scoreflow_crm_budget_waits_total', lead)).toBeGreaterThan(0);
    expect(sampleValue(samples, 'scoreflow_runs', { ...lead, status: 'published' })).toBe(1);
    for (const name of ['scoreflow_gate_breaches_total', 'scoreflow_schedule_missed_total']) {
      expect(text).toContain(`# TYPE ${name} counter`);
    }
    // The SDK's own series, relayed on the same endpoint.
    expect(samples.some((s) => s.name.startsWith('temporal_') && s.name.includes('activity'))).toBe(true);
  });
});

describe('the Web UI', () => {
  it('finds runs by pipeline, model version and status with a visibility query, and names each chunk on the timeline', async () => {
    const h = await harness({ SCOREFLOW_RECS_CHUNK_SIZE: '100' });
    await h.seed(800);
    // Without the shop's tables the recommender's run fails at extract.
    await expect(h.run('2026-10-04', { pipeline: 'product-recs' })).rejects.toThrow();
    await seedShop(h.rt.pool, SHOP_TABLES, { customers: 300, products: 200 });
    const leads = await h.run('2026-10-05');
    const recs = await h.run('2026-10-05', { pipeline: 'product-recs' });

    const client = h.rt.temporal!.client;
    // This test's own runs only: the namespace is shared by the file's tests.
    const ids = async (query: string) => {
      const found: string[] = [];
      for await (const w of client.workflow.list({ query: `${query} AND TaskQueue = '${h.config.temporal.taskQueue}'` })) found.push(w.workflowId);
      return found.sort();
    };
    await eventually(async () => (await ids("ScoreflowStatus = 'published'")).length === 2);
    expect(await ids("ScoreflowPipeline = 'product-recs' AND ScoreflowStatus = 'published'")).toEqual([recs.runId]);
    expect(await ids(`ScoreflowPipeline = 'lead-scoring' AND ScoreflowModelVersion = '${leads.modelVersion}'`)).toEqual([leads.runId]);
    expect(await ids("ScoreflowPipeline = 'product-recs' AND ScoreflowStatus = 'failed'")).toEqual(['product-recs-2026-10-04']);
    expect(await ids("ScoreflowPipeline = 'lead-scoring' AND ScoreflowStatus = 'failed'")).toEqual([]);

    const history = await client.workflow.getHandle(recs.runId).fetchHistory();
    const summaries = await Promise.all((history.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'scoreChunk')
      .map((e) => client.options.loadedDataConverter.payloadConverter.fromPayload<string>(e.userMetadata!.summary!)));
    expect(summaries.sort()).toEqual(['score chunk 1 of 3', 'score chunk 2 of 3', 'score chunk 3 of 3']);
  });

  it("a worker registers the search attributes a namespace lacks (one the dev server's flags did not cover)", async () => {
    const h = await harness({}, { worker: false });
    const conn = h.rt.temporal!.connection;
    const namespace = `bare-${h.config.temporal.taskQueue.slice(-8)}`;
    await conn.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(86_400) } });
    const custom = async () => Object.keys((await conn.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {});
    await eventually(async () => (await custom().catch(() => undefined)) !== undefined);
    expect(await custom()).not.toContain('ScoreflowPipeline');

    await ensureSearchAttributes(conn, namespace, makeLogger('warn', 'test'));
    expect(await custom()).toEqual(expect.arrayContaining(['ScoreflowPipeline', 'ScoreflowModelVersion', 'ScoreflowStatus']));
  });
});

describe('scheduled runs that did not start', () => {
  it('an action skipped because the previous run was still going shows in `scoreflow runs` and in scoreflow_schedule_missed_total', async () => {
    // No worker: the first action's run stays open, so the second overlaps it.
    const h = await harness({}, { worker: false });
    await createOrUpdateSchedule(h.rt);
    const schedule = scheduleHandle(h.rt);
    await schedule.trigger(ScheduleOverlapPolicy.SKIP);
    await eventually(async () => (await schedule.describe()).info.numActionsTaken === 1);
    await schedule.trigger(ScheduleOverlapPolicy.SKIP);
    await eventually(async () => (await schedule.describe()).info.numActionsSkippedOverlap === 1);

    const runs = await scoreflow(['runs'], cliEnv(h));
    expect(runs.stdout).toContain('schedule lead-scoring-daily: 1 action(s) skipped because a run was still going');

    registerRunGauges({ pool: h.rt.pool, client: h.rt.temporal!.client, pipelines: h.rt.pipelines, log: makeLogger('warn', 'test') });
    const server = await startMetricsServer({ port: 0, host: '127.0.0.1', log: makeLogger('warn', 'test') });
    closers.push(server.close);
    const { samples } = await scrape(server.port);
    expect(sampleValue(samples, 'scoreflow_schedule_missed_total', { pipeline: 'lead-scoring', reason: 'overlap' })).toBe(1);
    expect(sampleValue(samples, 'scoreflow_schedule_missed_total', { pipeline: 'lead-scoring', reason: 'catchup-window' })).toBe(0);
  });

  it('lists the scheduled times since the schedule was created that have no run, and not those that ran', async () => {
    const h = await harness({ SCOREFLOW_SCHEDULE_CRON: '0 6 * * *', SCOREFLOW_SCHEDULE_TIMEZONE: 'UTC' });
    await h.seed(300);
    await createOrUpdateSchedule(h.rt);
    await scheduleHandle(h.rt).pause('the test looks at times to come');
    const created = (await scheduleHandle(h.rt).describe()).info.createdAt;
    const def = h.rt.pipelines.get('lead-scoring');
    // Seen from three days after the schedule was created: three 06:00 UTC slots have passed.
    const later = new Date(created.getTime() + 3 * 86_400_000);
    const before = await scheduleGaps({ client: h.rt.temporal!.client, pool: h.rt.pool }, def, { days: 7, now: later });
    expect(before!.missed).toHaveLength(3);

    const ran = before!.missed[1]!;
    await h.run(ran.asOf);
    const after = await scheduleGaps({ client: h.rt.temporal!.client, pool: h.rt.pool }, def, { days: 7, now: later });
    expect(after!.missed.map((m) => m.runId)).toEqual(before!.missed.filter((m) => m !== ran).map((m) => m.runId));
    expect(after!.missed.every((m) => m.scheduledAt.getUTCHours() === 6 && m.runId === `lead-scoring-${m.asOf}`)).toBe(true);
  });
});

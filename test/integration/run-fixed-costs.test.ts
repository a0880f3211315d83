import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { psi } from '../../activities/gate-checks.js';
import { createScoringActivities } from '../../activities/index.js';
import { keyIsUnique } from '../../activities/sql/source-key.js';
import { setChallenger } from '../../models/challenger.js';
import { deployModel } from '../../models/model-deploy.js';
import { parseLeadsTable } from '../../source/leads-table.js';
import { makeLogger } from '../../lib/logger.js';
import { exportHistory } from '../../workers/history.js';
import { activityDeps } from '../../workers/worker.js';
import { leadChallenger } from '../support/challenger-variants.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { BUNDLED_MODEL, emptyModelDir } from '../support/model-variant.js';

const DAY1 = '2026-08-03';
const DAY2 = '2026-08-04';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface HistoryEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
}

/** The activities a run's workflow scheduled, in order, from its exported history. */
async function scheduledActivities(h: Harness, workflowId: string): Promise<{ names: string[]; history: string }> {
  const history = await exportHistory(h.rt, workflowId);
  const events = (JSON.parse(history) as { events: HistoryEvent[] }).events;
  return { names: events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter((n): n is string => !!n), history };
}

describe('a run\'s fixed costs', () => {
  it('a run of a pipeline without a challenger schedules no challenger activity, and one that passes the gate is judged and published by one activity; once a challenger is set, the next run pins and scores it', async () => {
    const root = emptyModelDir();
    await deployModel(root, BUNDLED_MODEL);
    h = await makeHarness({ SCOREFLOW_MODEL_DIR: root });
    await h.seed(1000);

    const first = await h.run(DAY1, { crm: false });
    const { names, history } = await scheduledActivities(h, first.runId);
    // The gate passes: the store stage judges and publishes the run in one activity (patch publish-with-gate).
    expect(names).toEqual(['extractLeads', 'scoreChunk', 'scoreChunk', 'scoreChunk', 'publishRun']);
    expect(history).not.toMatch(/@example|email/i);
    // SCOREFLOW_RECORD_HISTORIES=<dir> writes it for test/histories/.
    const record = process.env['SCOREFLOW_RECORD_HISTORIES'];
    if (record) fs.writeFileSync(path.join(record, 'lead-scoring-gate-passed-published-at-once.json'), history);

    const challenger = leadChallenger();
    await setChallenger(root, challenger.dir, 'probability-buckets');
    await h.query('update public.leads set updated_at = now() where lead_id <= 10');
    const second = await h.run(DAY2, { crm: false });
    const after = await scheduledActivities(h, second.runId);
    expect(after.names).toEqual(['extractLeads', 'pinChallenger', 'shadowScoreChunk', 'publishRun']);
    expect(await h.query('select model_sha256, chunks, finished_at is not null as finished from scoring.shadow_runs where run_id = $1', [second.runId]))
      .toEqual([{ model_sha256: challenger.sha256, chunks: 1, finished: true }]);
  });

  it('the quality gate stores each run\'s rows per bucket with its report and compares the next run with those, not with a count of the baseline\'s history rows', async () => {
    h = await makeHarness();
    await h.seed(2000);
    const first = await h.run(DAY1, { crm: false });
    const history = await h.query<{ bucket: string; n: number }>(
      'select bucket, count(*)::int as n from scoring.lead_score_history where run_id = $1 group by bucket', [first.runId]);
    const [stored] = await h.query<{ run_metrics: { rows: number; bins: Record<string, number> } }>(
      'select run_metrics from scoring.run_gate_reports where run_id = $1', [first.runId]);
    expect(stored!.run_metrics).toEqual({ rows: first.published, bins: Object.fromEntries(history.map((r) => [r.bucket, r.n])) });

    // The stored figures are the baseline: moved within the thresholds, they move the next run's PSI, the history unchanged.
    const moved = Object.fromEntries(Object.entries(stored!.run_metrics.bins).map(([bucket, n], i) => [bucket, i === 0 ? Math.round(n * 1.3) : n]));
    await h.query('update scoring.run_gate_reports set run_metrics = $2 where run_id = $1',
      [first.runId, JSON.stringify({ rows: stored!.run_metrics.rows, bins: moved })]);
    const second = await h.run(DAY2, { crm: false, full: true });
    const [report] = await h.query<{ baseline_run_id: string; checks: Array<{ name: string; value: number }>; run_metrics: { bins: Record<string, number> } }>(
      'select baseline_run_id, checks, run_metrics from scoring.run_gate_reports where run_id = $1', [second.runId]);
    expect(report!.baseline_run_id).toBe(first.runId);
    const reported = report!.checks.find((c) => c.name === 'psi')!.value;
    expect(reported).toBeCloseTo(psi(moved, report!.run_metrics.bins), 5);
    expect(reported).not.toBeCloseTo(psi(stored!.run_metrics.bins, report!.run_metrics.bins), 5);
  });

  it('two attempts at extracting the same new run at once leave one snapshot: the later one returns the first one\'s', async () => {
    h = await makeHarness({}, { worker: false });
    await h.seed(3000);
    const activities = createScoringActivities(activityDeps({ config: h.config, pool: h.rt.pool, log: makeLogger('warn'), crm: h.rt.crm }));
    const run = { runId: 'lead-scoring-2026-06-01', pipeline: 'lead-scoring', asOf: '2026-06-01', full: false };
    const [a, b] = await Promise.all([0, 1].map(() => new MockActivityEnvironment().run(activities.extractLeads, run)));
    expect(a).toEqual(b);
    expect(a).toMatchObject({ total: 3000, duplicates: 0 });
    expect(await h.query('select count(*)::int as n, count(distinct lead_id)::int as leads from scoring.run_leads, unnest(lead_ids) as lead_id')).toEqual([{ n: 3000, leads: 3000 }]);
  });

  it('a key counts as unique only where the table declares it so by itself, so repeated keys are still found and rejected everywhere else', async () => {
    h = await makeHarness();
    await h.seed(10);
    await h.query(`
      create table public.no_index (lead_id bigint, updated_at timestamptz);
      create table public.two_columns (lead_id bigint, email text, updated_at timestamptz, unique (lead_id, email));
      create table public.partial (lead_id bigint, updated_at timestamptz);
      create unique index partial_positive on public.partial (lead_id) where lead_id > 0;
      create table public.text_key (lead_id text primary key, updated_at timestamptz);
      create view public.leads_view as select * from public.leads;
      create table public.parent (lead_id bigint primary key, updated_at timestamptz);
      create table public.child () inherits (public.parent);
      create table public.partitioned (lead_id bigint primary key, updated_at timestamptz) partition by range (lead_id);
      create table public.partitioned_1 partition of public.partitioned for values from (0) to (1000);
    `);
    const client = await h.rt.pool.connect();
    try {
      const unique = async (name: string) => keyIsUnique(client, parseLeadsTable(name));
      expect(await unique('public.leads')).toBe(true);
      expect(await unique('public.partitioned')).toBe(true);
      for (const name of ['public.no_index', 'public.two_columns', 'public.partial', 'public.text_key', 'public.leads_view', 'public.parent']) {
        expect([name, await unique(name)]).toEqual([name, false]);
      }
    } finally {
      client.release();
    }
  });

  it('a lead rescored the next morning keeps its current score\'s row on its page: the update is heap-only and adds no index entry', async () => {
    h = await makeHarness();
    await h.seed(2000);
    await h.run(DAY1, { crm: false });
    expect(await h.query("select reloptions from pg_class where oid = 'scoring.lead_scores_rows'::regclass")).toEqual([{ reloptions: ['fillfactor=90'] }]);
    const pages = () => h!.query<{ lead_id: string; page: number }>(
      'select lead_id, (ctid::text::point)[0]::int as page from scoring.lead_scores_rows where lead_id % 50 = 0 order by lead_id');
    const before = await pages();

    await h.query('update public.leads set updated_at = now() where lead_id % 50 = 0');
    const second = await h.run(DAY2, { crm: false });
    expect(second.published).toBe(before.length);
    expect(await h.query('select count(*)::int as n from scoring.lead_scores where lead_id % 50 = 0 and run_id = $1', [second.runId])).toEqual([{ n: before.length }]);
    expect(await pages()).toEqual(before);
  });

  it('a morning whose changes fit in one chunk is extracted, scored, judged and published by one activity, and a rerun of it changes nothing', async () => {
    h = await makeHarness();
    await h.seed(2000);
    await h.run(DAY1, { crm: false });
    await h.query('update public.leads set updated_at = now(), site_visits_30d = site_visits_30d + 1 where lead_id % 20 = 0');

    const second = await h.run(DAY2, { crm: false });
    expect(second).toMatchObject({ extracted: 100, chunks: 1, scored: 100, published: 100 });
    const { names, history } = await scheduledActivities(h, second.runId);
    expect(names).toEqual(['extractLeads']);
    const record = process.env['SCOREFLOW_RECORD_HISTORIES'];
    if (record) fs.writeFileSync(path.join(record, 'lead-scoring-morning-published-at-extract.json'), history);
    const scores = 'select lead_id, score, bucket, run_id from scoring.lead_scores order by lead_id';
    const published = await h.query(scores);
    expect(published.filter((r) => r['run_id'] === second.runId)).toHaveLength(100);
    expect(await h.query('select chunk, scored from scoring.run_chunks where run_id = $1', [second.runId])).toEqual([{ chunk: 0, scored: 100 }]);

    expect(await h.run(DAY2, { crm: false })).toMatchObject({ extracted: 100, published: 100 });
    expect(await h.query(scores)).toEqual(published);
    expect(await h.query('select count(*)::int as n from scoring.lead_score_history where run_id = $1', [second.runId])).toEqual([{ n: 100 }]);
  });
});

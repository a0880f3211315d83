import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import type { GateReport } from '../../activities/sql/gate-report.js';
import { SHOP_TABLES } from '../../pipelines/index.js';
import { seedShop } from '../../source/seed-shop.js';
import { exportHistory } from '../../workers/history.js';
import { startRun } from '../../workers/run-pipeline.js';
import { approvalQuery, decideSignal, decideUpdate } from '../../workflows/gate.js';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { progressQuery, type PipelineResult } from '../../workflows/pipeline.js';
import { makeHarness, waitForQuery, type Harness } from '../support/harness.js';
import { cliEnv, scoreflow } from '../support/scoreflow-cli.js';

const FIRST = '2026-10-01';
const SECOND = '2026-10-02';
const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

/** 2,000 leads published by a first run (which passes: nothing was published before it). */
async function publishedOnce(env: Record<string, string> = {}): Promise<Harness> {
  const h = await makeHarness(env);
  harnesses.push(h);
  await h.seed(2000, { seed: 11 });
  const first = await h.run(FIRST, { crm: false });
  expect(first.gate).toMatchObject({ verdict: 'pass', decision: null });
  return h;
}

/** Every lead asks for a demo and visits the site daily: the next run's scores move far up the buckets. */
async function driftLeads(h: Harness): Promise<void> {
  await h.query('update public.leads set demo_requested = true, site_visits_30d = 30, days_since_last_activity = 0, updated_at = now()');
}

/** Starts the next day's run and waits until it holds at the gate. */
async function heldAtGate(h: Harness, pipeline = 'lead-scoring', asOf = SECOND): Promise<WorkflowHandle> {
  const handle = await startRun(h.rt, { pipeline, asOf, full: false, crm: false });
  await waitForQuery(h, `select status = 'awaiting-approval' as ok from scoring.pipeline_runs where run_id = '${pipeline}-${asOf}'`);
  return handle;
}

async function gateRow(h: Harness, runId: string): Promise<GateReport & { status: string }> {
  const [row] = await h.query<GateReport & { status: string } & Record<string, unknown>>(
    'select g.*, r.status from scoring.run_gate_reports g join scoring.pipeline_runs r using (run_id) where run_id = $1', [runId]);
  return row!;
}

describe('the quality gate', () => {
  it('holds a run with a drifted score distribution until a person approves it with scoreflow approve; it then publishes and the audit row names who and why', async () => {
    const h = await publishedOnce();
    const [firstReport] = await h.query<{ verdict: string; note: string; baseline_run_id: string | null }>('select verdict, note, baseline_run_id from scoring.run_gate_reports');
    expect(firstReport).toMatchObject({ verdict: 'pass', baseline_run_id: null, note: expect.stringMatching(/first run/) });
    await driftLeads(h);

    const handle = await heldAtGate(h);
    expect((await handle.query(progressQuery)).stage).toBe('awaiting-approval');
    const approval = await handle.query(approvalQuery);
    expect(approval).toMatchObject({ awaiting: true, baselineRunId: `lead-scoring-${FIRST}`, onTimeout: 'reject', approvalTimeout: '24h' });
    expect(approval.reasons.join('\n')).toMatch(/^psi \d/m);
    expect((await handle.describe()).memo).toMatchObject({ gate: { status: 'awaiting-approval' } });
    const published = await h.query<{ n: number }>(`select count(*)::int as n from scoring.lead_scores where run_id = 'lead-scoring-${SECOND}'`);
    expect(published[0]!.n).toBe(0);

    const status = await scoreflow(['status', '--json'], cliEnv(h));
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'awaiting-approval', gate: { verdict: 'breach', decision: null } });
    const text = await scoreflow(['status'], cliEnv(h));
    expect(text.stdout).toMatch(/BREACH psi/);
    expect(text.stdout).toContain('scoreflow approve|reject --as-of 2026-10-02');

    const approved = await scoreflow(['approve', '--as-of', SECOND, '--by', 'alice', '--reason', 'new campaign: every lead asked for a demo'], cliEnv(h));
    expect(approved).toMatchObject({ code: 0, stdout: expect.stringContaining('approved by alice') });
    const result = await handle.result() as PipelineResult;
    expect(result).toMatchObject({ published: 2000, gate: { verdict: 'breach', decision: { decision: 'approve', by: 'alice', via: 'signal' } } });
    expect(await gateRow(h, `lead-scoring-${SECOND}`)).toMatchObject({
      status: 'published', verdict: 'breach', decision: 'approve', decided_by: 'alice', decided_via: 'signal',
      decision_reason: 'new campaign: every lead asked for a demo', baseline_run_id: `lead-scoring-${FIRST}`,
    });
    expect((await handle.describe()).memo).toMatchObject({ gate: { status: 'approved', via: 'signal' } });
    const runs = await scoreflow(['runs'], cliEnv(h));
    expect(runs.stdout).toMatch(/lead-scoring-2026-10-02\s+published\s+breach: approved by alice/);

    // Its history is what test/histories/lead-scoring-gated-approved.json holds: SCOREFLOW_RECORD_HISTORIES=<dir> writes it.
    const history = await exportHistory(h.rt, result.runId);
    expect(history).not.toMatch(/@example|email/i);
    const record = process.env['SCOREFLOW_RECORD_HISTORIES'];
    if (record) fs.writeFileSync(path.join(record, 'lead-scoring-gated-approved.json'), history);

    // Running the published date again neither judges it again nor waits: it answers the decision it was published with.
    const again = await h.run(SECOND, { crm: false });
    expect(again.gate).toEqual(result.gate);
    expect(await gateRow(h, `lead-scoring-${SECOND}`)).toMatchObject({ decided_by: 'alice', decision_reason: 'new campaign: every lead asked for a demo' });
  });

  it('publishes nothing of a run a person rejects: its status is rejected and the published scores stay the last run\'s', async () => {
    const h = await publishedOnce();
    const before = await h.publishedTables();
    await driftLeads(h);
    const handle = await heldAtGate(h);

    const rejected = await scoreflow(['reject', '--as-of', SECOND, '--by', 'bob', '--reason', 'upstream table looks broken'], cliEnv(h));
    expect(rejected).toMatchObject({ code: 0, stdout: expect.stringContaining('rejected by bob') });
    const result = await handle.result() as PipelineResult;
    expect(result).toMatchObject({ published: 0, scored: 2000, gate: { decision: { decision: 'reject', by: 'bob' } } });
    expect(await h.publishedTables()).toEqual(before);
    expect(await gateRow(h, `lead-scoring-${SECOND}`)).toMatchObject({ status: 'rejected', decision: 'reject', decided_by: 'bob', decision_reason: 'upstream table looks broken' });
    const status = await scoreflow(['status'], cliEnv(h));
    expect(status.stdout).toMatch(/lead-scoring-2026-10-02: rejected/);
    expect(status.stdout).toMatch(/decision: reject by bob via signal: upstream table looks broken/);
    const again = await scoreflow(['approve', '--as-of', SECOND, '--reason', 'too late'], cliEnv(h));
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('is not awaiting approval: already decided (reject by bob)') });
  });

  it('holds a morning of one chunk, which extract judges itself, until a person approves it; publishRun then publishes it', async () => {
    const h = await publishedOnce({ SCOREFLOW_CHUNK_SIZE: '5000' });
    await driftLeads(h);
    const handle = await heldAtGate(h);
    expect(await h.query<{ n: number }>(`select count(*)::int as n from scoring.lead_scores where run_id = 'lead-scoring-${SECOND}'`)).toEqual([{ n: 0 }]);

    await handle.signal(decideSignal, { decision: 'approve', by: 'dana', reason: 'the campaign explains it' });
    const result = await handle.result() as PipelineResult;
    expect(result).toMatchObject({ chunks: 1, published: 2000, gate: { verdict: 'breach', decision: { decision: 'approve', by: 'dana' } } });
    expect(await h.query<{ n: number }>(`select count(*)::int as n from scoring.lead_scores where run_id = 'lead-scoring-${SECOND}'`)).toEqual([{ n: 2000 }]);
    const events = (JSON.parse(await exportHistory(h.rt, `lead-scoring-${SECOND}`)) as { events: Array<{ activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }> }).events;
    expect(events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean)).toEqual(['extractLeads', 'recordGateDecision', 'publishRun']);
  });

  it('takes the configured default when nobody decides in time, recorded as the timeout\'s decision', async () => {
    const h = await publishedOnce({ SCOREFLOW_APPROVAL_TIMEOUT: '2s' });
    const before = await h.publishedTables();
    await driftLeads(h);
    const result = await (await heldAtGate(h)).result() as PipelineResult;
    expect(result).toMatchObject({ published: 0, gate: { decision: { decision: 'reject', by: 'timeout', via: 'timeout', reason: 'no decision within 2s' } } });
    expect(await h.publishedTables()).toEqual(before);
    expect(await gateRow(h, `lead-scoring-${SECOND}`)).toMatchObject({ status: 'rejected', decision: 'reject', decided_by: 'timeout', decided_via: 'timeout', approval_timeout: '2s', on_timeout: 'reject' });
  });

  it('publishes on timeout where the pipeline\'s default is approve', async () => {
    const h = await publishedOnce({ SCOREFLOW_APPROVAL_TIMEOUT: '1s', SCOREFLOW_GATES: '{"lead-scoring":{"onTimeout":"approve"}}' });
    await driftLeads(h);
    const result = await (await heldAtGate(h)).result() as PipelineResult;
    expect(result).toMatchObject({ published: 2000, gate: { decision: { decision: 'approve', via: 'timeout' } } });
    expect(await gateRow(h, `lead-scoring-${SECOND}`)).toMatchObject({ status: 'published', decided_by: 'timeout', decided_via: 'timeout' });
  });

  it('holds a recommender run whose catalogue coverage or top product share crosses its limits; rejected, the readers keep the last run', async () => {
    const h = await makeHarness({ SCOREFLOW_RECS_CHUNK_SIZE: '100', SCOREFLOW_GATES: '{"product-recs":{"minRows":0,"minCoverage":0.99,"maxTopItemShare":0.001}}' });
    harnesses.push(h);
    await seedShop(h.rt.pool, SHOP_TABLES, { customers: 300, products: 200 });
    await h.run('2026-11-23', { pipeline: 'product-recs', crm: false });
    const handle = await heldAtGate(h, 'product-recs', '2026-11-27');

    const report = await gateRow(h, 'product-recs-2026-11-27');
    const [truth] = await h.query<{ coverage: number; top_share: number }>(
      `with r as (select product_id from recs.customer_recommendations where run_id = 'product-recs-2026-11-23'),
            p as (select product_id, count(*) as n from r group by product_id)
       select (select count(*) from p)::float8 / (select count(*) from shop.products where active) as coverage,
              (select max(n) from p)::float8 / (select count(*) from r) as top_share`);
    const check = (name: string) => report.checks.find((c) => c.name === name)!;
    expect(check('coverage')).toMatchObject({ breached: true, threshold: 0.99 });
    expect(check('coverage').baseline).toBeCloseTo(truth!.coverage, 5);
    expect(check('top-item-share')).toMatchObject({ breached: true, threshold: 0.001 });
    expect(check('top-item-share').baseline).toBeCloseTo(truth!.top_share, 5);
    expect(check('psi').value).toBeLessThan(0.01);

    await handle.signal(decideSignal, { decision: 'reject', by: 'carol', reason: 'too narrow' });
    const result = await handle.result() as PipelineResult;
    expect(result).toMatchObject({ published: 0, gate: { decision: { decision: 'reject', by: 'carol' } } });
    const [pointer] = await h.query<{ run_id: string }>("select run_id from recs.published_run where pipeline = 'product-recs'");
    expect(pointer!.run_id).toBe('product-recs-2026-11-23');
    expect(await gateRow(h, 'product-recs-2026-11-27')).toMatchObject({ status: 'rejected', decided_by: 'carol' });
  });

  it('keeps a decision sent while the gate is still judging the run (the run already shows awaiting approval), and applies it once the run is held', async () => {
    const h = await publishedOnce({ SCOREFLOW_APPROVAL_TIMEOUT: '30s', SCOREFLOW_GATES: '{"lead-scoring":{"onTimeout":"approve"}}' });
    await driftLeads(h);
    // The gate's report is written slowly: the decision below arrives while the judging activity is still at work.
    await h.query('create function public.slow_gate_report() returns trigger language plpgsql as $$ begin perform pg_sleep(2); return new; end $$');
    await h.query('create trigger slow_gate_report before insert or update on scoring.run_gate_reports for each row execute function public.slow_gate_report()');
    const handle = await startRun(h.rt, { pipeline: 'lead-scoring', asOf: SECOND, full: false, crm: false });
    await waitForQuery(h, "select count(*) > 0 as ok from pg_stat_activity where query like '%run_gate_reports%' and wait_event = 'PgSleep'");
    await handle.signal(decideSignal, { decision: 'reject', by: 'erin', reason: 'saw the drift coming' });

    const result = await handle.result() as PipelineResult;
    expect(result).toMatchObject({ published: 0, gate: { verdict: 'breach', decision: { decision: 'reject', by: 'erin', via: 'signal' } } });
    expect(await gateRow(h, `lead-scoring-${SECOND}`)).toMatchObject({ status: 'rejected', decided_by: 'erin', decided_via: 'signal' });
  });

  it('can be cancelled while it awaits approval: recorded cancelled, nothing published', async () => {
    const h = await publishedOnce();
    const before = await h.publishedTables();
    await driftLeads(h);
    const handle = await heldAtGate(h);
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    await waitForQuery(h, `select status = 'cancelled' as ok from scoring.pipeline_runs where run_id = 'lead-scoring-${SECOND}'`);
    expect(await h.publishedTables()).toEqual(before);
    expect(await gateRow(h, `lead-scoring-${SECOND}`)).toMatchObject({ verdict: 'breach', decision: null });
  });

  it('ignores a malformed decide signal and keeps waiting; the decide update refuses one at once and answers a good one with the recorded decision', async () => {
    const h = await publishedOnce();
    await driftLeads(h);
    const handle = await heldAtGate(h);
    await handle.signal(decideSignal, { decision: 'maybe', by: '' } as never);
    expect(await handle.query(approvalQuery)).toMatchObject({ awaiting: true, decision: null });
    await expect(handle.executeUpdate(decideUpdate, { args: [{ decision: 'perhaps', by: 'dave' } as never] })).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    const answer = await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', by: 'dave', reason: 'looked fine' }] });
    expect(answer).toMatchObject({ awaiting: false, decision: { decision: 'approve', by: 'dave', reason: 'looked fine', via: 'update' } });
    expect(await handle.result()).toMatchObject({ published: 2000 });
  });
});

import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ApplicationFailure, WorkflowFailedError, type ActivityFailure } from '@temporalio/client';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { SHOP_TABLES } from '../../pipelines/index.js';
import { seedShop } from '../../source/seed-shop.js';
import { recentRuns } from '../../db/reports.js';
import { runOutcome, runsTable } from '../../workers/format.js';
import { startRollback } from '../../workers/rollback.js';
import { rollbackWorkflow } from '../../workflows/rollback.js';
import { makeHarness, type Harness } from '../support/harness.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'workers', 'cli.js');
const exec = promisify(execFile);
const [DAY1, DAY2, DAY3, DAY4] = ['2026-10-05', '2026-10-06', '2026-10-07', '2026-10-08'];
const SCORE_COLUMNS = 'lead_id, score, bucket, model_version, model_sha256, run_id, source_updated_at, scored_at';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('scoreflow rollback', () => {
  it('puts back run R\'s lead scores exactly, as an audited run, and the CRM gets only the contacts whose values differ', async () => {
    h = await makeHarness();
    await h.seed(500);
    const r = await h.run(DAY1);
    await h.query(`update public.leads set site_visits_30d = site_visits_30d + 40, email_clicks_30d = email_clicks_30d + 9, updated_at = now()
                   where lead_id in (select lead_id from public.leads order by lead_id limit 30)`);
    const bad = await h.run(DAY2);
    expect(bad.extracted).toBe(30);
    const [{ differ }] = await h.query<{ differ: number }>(
      `select count(*)::int as differ from scoring.lead_score_history b join scoring.lead_score_history g using (lead_id)
       where b.run_id = $1 and g.run_id = $2 and (b.score <> g.score or b.bucket <> g.bucket)`,
      [bad.runId, r.runId],
    ) as [{ differ: number }];
    expect(differ).toBeGreaterThan(0);
    h.sandbox.resetStats();

    const handle = await startRollback(h.rt, { pipeline: 'lead-scoring', toRun: r.runId, reason: 'day 2 read broken click counts' });
    const result = await handle.result();

    expect(handle.workflowId).toBe(`${r.runId}-rollback-1`);
    const described = await handle.describe();
    expect(await described.staticSummary()).toBe(`rollback of lead-scoring to run ${r.runId}`);
    expect(await described.staticDetails()).toMatch(/^requested by scoreflow-cli:.+: day 2 read broken click counts$/);
    expect(await h.query(`select ${SCORE_COLUMNS} from scoring.lead_scores order by lead_id`))
      .toEqual(await h.query(`select ${SCORE_COLUMNS} from scoring.lead_score_history where run_id = $1 order by lead_id`, [r.runId]));
    expect(result).toMatchObject({ runId: handle.workflowId, rolledBackFrom: r.runId, restored: 500, removed: 0, crm: { sent: differ, unchanged: 500 - differ, failed: 0 } });
    expect(h.sandbox.stats().contactsWritten).toBe(differ);
    expect(h.sandbox.stats().upsertCalls).toBe(Math.ceil(differ / 100));
    expect(await h.query(
      `select count(*)::int as n from scoring.crm_sync_state s join scoring.lead_scores c using (lead_id)
       where s.pipeline = 'lead-scoring' and (s.score <> c.score or s.bucket <> c.bucket)`,
    )).toEqual([{ n: 0 }]);
    expect(await h.query(
      `select kind, rolled_back_from, status, crm_status, crm_sent, leads_published, reason, requested_by like 'scoreflow-cli:%' as by_cli, model_sha256 = $2 as same_model
       from scoring.pipeline_runs where run_id = $1`,
      [handle.workflowId, r.modelSha256],
    )).toEqual([{ kind: 'rollback', rolled_back_from: r.runId, status: 'published', crm_status: 'synced', crm_sent: differ, leads_published: 500,
      reason: 'day 2 read broken click counts', by_cli: true, same_model: true }]);
    const report = (await recentRuns(h.rt.pool, 1, 'lead-scoring'))[0]!;
    expect(runOutcome(report)).toBe(`published, rollback to ${r.runId}`);
    expect(runsTable([report])).toContain(`${handle.workflowId}  published (rollback to ${r.runId})`);
    // The history keeps every score ever published; the next run rescores the leads whose source moved on since R.
    expect(await h.query('select count(*)::int as n from scoring.lead_score_history')).toEqual([{ n: 530 }]);
    const newestHandled = async () => (await h!.query<{ newest: string }>(
      `select case when newest_handled is null then 'unknown' when newest_handled = (select max(source_updated_at) from scoring.lead_scores_rows) then 'newest scored'
              else 'other' end as newest from scoring.watermarks`,
    ))[0]!.newest;
    // The restored rows are not what the watermark's newest handled change counted: the next morning learns it again.
    expect(await newestHandled()).toBe('unknown');
    expect((await h.run(DAY3)).extracted).toBe(30);
    await h.query('update public.leads set updated_at = now() where lead_id = (select min(lead_id) from public.leads)');
    expect((await h.run(DAY4)).extracted).toBe(1);
    expect(await newestHandled()).toBe('newest scored');
  });

  it('moves product-recs\' view back to a kept run\'s rows, and names the kept runs for one already deleted', async () => {
    h = await makeHarness({ SCOREFLOW_RECS_CHUNK_SIZE: '100', SCOREFLOW_RECS_KEEP_RUNS: '2' });
    await seedShop(h.rt.pool, SHOP_TABLES, { customers: 300, products: 200 });
    const first = await h.run(DAY1, { pipeline: 'product-recs' });
    const second = await h.run(DAY2, { pipeline: 'product-recs' });
    // Customers 1-40 buy the most popular products: the third run recommends them something else.
    await h.query(`insert into shop.purchases (customer_id, product_id, occurred_at, quantity)
                   select c.customer_id, r.product_id, now() - interval '1 hour', 3
                   from shop.customers c join recs.customer_recommendations r on r.customer_id = c.customer_id and r.run_id = $1
                   where c.customer_id <= 40`, [second.runId]);
    await h.query("update shop.customers set updated_at = now() where customer_id <= 40");
    const third = await h.run(DAY3, { pipeline: 'product-recs' });
    const view = () => h!.query('select customer_id::text, rank, product_id::text, score, source, run_id from recs.current_recommendations order by customer_id, rank');
    const rowsOf = (runId: string) => h!.query(
      'select customer_id::text, rank, product_id::text, score, source, run_id from recs.customer_recommendations where run_id = $1 order by customer_id, rank', [runId]);
    expect(await view()).not.toEqual(await rowsOf(second.runId));

    await expect(startRollback(h.rt, { pipeline: 'product-recs', toRun: first.runId })).rejects.toMatchObject({
      type: 'RollbackTargetInvalid',
      message: expect.stringContaining(`no longer kept in recs.customer_recommendations (SCOREFLOW_RECS_KEEP_RUNS keeps the last published runs: ${third.runId}, ${second.runId})`),
    });
    const result = await (await startRollback(h.rt, { pipeline: 'product-recs', toRun: second.runId })).result();

    expect(result).toMatchObject({ rolledBackFrom: second.runId, restored: 300 });
    expect(await view()).toEqual(await rowsOf(second.runId));
    expect(await h.query("select run_id from recs.published_run where pipeline = 'product-recs'")).toEqual([{ run_id: second.runId }]);
  });

  it('refuses an unknown or never-published run with the next step, before and inside the workflow', async () => {
    h = await makeHarness();
    await h.query(`insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version) values ('lead-scoring-2026-10-01', 'lead-scoring', '2026-10-01', 'failed', 'test')`);

    await expect(startRollback(h.rt, { pipeline: 'lead-scoring', toRun: 'lead-scoring-1999-01-01' })).rejects.toMatchObject({
      type: 'RollbackTargetInvalid', message: expect.stringContaining('no run "lead-scoring-1999-01-01" in scoring.pipeline_runs; list the runs you can roll back to with `scoreflow runs --pipeline lead-scoring`'),
    });
    await expect(startRollback(h.rt, { pipeline: 'lead-scoring', toRun: 'lead-scoring-2026-10-01' })).rejects.toMatchObject({
      type: 'RollbackTargetInvalid', message: expect.stringContaining('was never published (status failed)'),
    });
    const started = await h.rt.temporal!.client.workflow.start(rollbackWorkflow, {
      taskQueue: h.config.temporal.taskQueue, workflowId: 'lead-scoring-1999-01-01-rollback-1', args: [{ pipeline: 'lead-scoring', toRun: 'lead-scoring-1999-01-01', asOf: DAY1 }],
    });
    const failure = await started.result().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = ((failure as WorkflowFailedError).cause as ActivityFailure).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('RollbackTargetInvalid');
    expect(await h.query('select count(*)::int as n from scoring.lead_scores')).toEqual([{ n: 0 }]);

    const cli = await exec('node', [CLI, 'rollback', '--to-run', 'lead-scoring-1999-01-01', '--no-worker'], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', DATABASE_URL: h.config.database.url!, TEMPORAL_ADDRESS: h.rt.temporal!.address,
        TEMPORAL_NAMESPACE: h.config.temporal.namespace, SCOREFLOW_TASK_QUEUE: h.config.temporal.taskQueue, SCOREFLOW_CRM: 'off' },
    }).catch((err: { code: number; stderr: string }) => err);
    expect(cli).toMatchObject({ code: 1, stderr: expect.stringContaining('scoreflow: RollbackTargetInvalid: Cannot roll back: no run "lead-scoring-1999-01-01"') });
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { freePort } from '../support/free-port.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { scoreflow } from '../support/scoreflow-cli.js';

/** A model directory holding the ONNX file but not its card. */
const MODEL_WITHOUT_CARD = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-no-card-'));
for (const f of fs.readdirSync(path.join(PROJECT_ROOT, 'models', 'lead-scoring')).filter((f) => f.endsWith('.onnx'))) {
  fs.copyFileSync(path.join(PROJECT_ROOT, 'models', 'lead-scoring', f), path.join(MODEL_WITHOUT_CARD, f));
}

let h: Harness;
let env: Record<string, string>;
beforeAll(async () => {
  h = await makeHarness();
  // Tests choose the local sandbox, as the demo does (on a port of this file's own: another checkout's
  // tests may hold the default one); a real deployment sets a token or SCOREFLOW_CRM.
  env = {
    DATABASE_URL: h.config.database.url!, TEMPORAL_ADDRESS: h.rt.temporal!.address, TEMPORAL_NAMESPACE: h.config.temporal.namespace, SCOREFLOW_TASK_QUEUE: `${h.config.temporal.taskQueue}-cli`,
    SCOREFLOW_CRM: 'sandbox', SCOREFLOW_SANDBOX_PORT: String(await freePort()), SCOREFLOW_CRM_SYNC_MODE: 'upsert',
  };
});
afterAll(async () => {
  await h?.close();
  fs.rmSync(MODEL_WITHOUT_CARD, { recursive: true, force: true });
});

describe('the scoreflow command', () => {
  it.each([
    [['run'], { SCOREFLOW_SCHEDULE_TIMEZONE: 'Mars/Olympus' }, 'scoreflow: ConfigInvalid: Invalid configuration: SCOREFLOW_SCHEDULE_TIMEZONE must be an IANA time zone'],
    [['schedule', 'create'], { SCOREFLOW_SCHEDULE_CRON: 'at dawn' }, 'scoreflow: ConfigInvalid: Invalid configuration: SCOREFLOW_SCHEDULE_CRON must be a 5-field cron expression'],
    [['status'], { DATABASE_URL: 'postgres://scoring:s3cret@127.0.0.1:9/nowhere' }, 'scoreflow: DatabaseUnavailable: Cannot reach PostgreSQL: postgres://scoring:***@127.0.0.1:9/nowhere'],
    [['run'], { SCOREFLOW_MODEL_DIR: '/nonexistent/model' }, 'scoreflow: ModelNotFound: No model card at /nonexistent/model/model-card.json'],
    [['run'], { SCOREFLOW_MODEL_DIR: MODEL_WITHOUT_CARD }, `scoreflow: ModelNotFound: No model card at ${MODEL_WITHOUT_CARD}/model-card.json: export the model with its model-card.json`],
    [['status', '--pipeline', 'recs'], {}, 'scoreflow: ConfigInvalid: Invalid configuration: unknown pipeline "recs": the pipelines are lead-scoring'],
    [['schedule', 'describe', '--pipeline', 'recs'], {}, 'scoreflow: ConfigInvalid: Invalid configuration: unknown pipeline "recs": the pipelines are lead-scoring'],
  ])('%j with bad configuration stops at once with one line saying what to fix', async (args, bad, line) => {
    const res = await scoreflow(args, { ...env, ...bad });
    expect(res.code).toBe(1);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(line);
    expect(res.stderr).not.toContain('s3cret');
  });

  it.each([[['worker']], [['run', '--no-worker', '--as-of', '2026-07-01']]])(
    '%j against a DATABASE_URL with no token and no SCOREFLOW_CRM refuses to start, in one line naming both',
    async (args) => {
      const res = await scoreflow(args, { ...env, SCOREFLOW_CRM: '' });
      expect(res.code).toBe(1);
      expect(res.stderr.trim().split('\n')).toEqual([
        'scoreflow: ConfigInvalid: Invalid configuration: no CRM chosen for the database at DATABASE_URL: set HUBSPOT_ACCESS_TOKEN (or HUBSPOT_ACCESS_TOKEN_FILE) for HubSpot, or SCOREFLOW_CRM=sandbox or SCOREFLOW_CRM=off',
      ]);
      expect(await h.query('select count(*)::int as n from scoring.pipeline_runs')).toEqual([{ n: 0 }]);
    },
  );

  it('seeds, runs a date with --json and lists it in runs and status', async () => {
    expect((await scoreflow(['seed', '--leads', '700', '--seed', '3'], env)).stdout).toContain('added 700 leads to public.leads');
    const ran = await scoreflow(['run', '--as-of', '2026-07-01', '--json'], env);
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({ runId: 'lead-scoring-2026-07-01', extracted: 700, report: { status: 'published' } });

    const runs = JSON.parse((await scoreflow(['runs', '--json'], env)).stdout) as Array<{ run_id: string; status: string }>;
    expect(runs.map((r) => [r.run_id, r.status])).toEqual([['lead-scoring-2026-07-01', 'published']]);
    const status = await scoreflow(['status'], env);
    expect(status.stdout).toMatch(/lead-scoring-2026-07-01: published/);
    expect(status.stdout).toMatch(/extract\s+700/);

    const pipelines = JSON.parse((await scoreflow(['pipelines', '--json'], env)).stdout) as unknown[];
    expect(pipelines).toEqual([expect.objectContaining({
      id: 'lead-scoring',
      schedule: { id: 'lead-scoring-daily', times: ['cron "0 6 * * *"'], timezone: 'UTC', exists: false, paused: false },
      nextRun: expect.stringMatching(/T06:00:00.000Z$/) as unknown,
      nextRunFrom: 'definition',
      lastRun: expect.objectContaining({ runId: 'lead-scoring-2026-07-01', asOf: '2026-07-01', status: 'published' }) as unknown,
      sinks: { current: 'scoring.lead_scores_rows', history: 'scoring.lead_score_history_rows' },
      crm: true,
    }), expect.objectContaining({
      id: 'product-recs',
      schedule: { id: 'product-recs-schedule', times: ['Mon 13:00', 'Fri 08:00'], timezone: 'UTC', exists: false, paused: false },
      nextRun: expect.stringMatching(/T(13|08):00:00.000Z$/) as unknown,
      lastRun: null,
      sinks: { current: 'recs.current_recommendations', history: 'recs.customer_recommendations' },
      crm: false,
    })]);
  });

  it('checks the CRM and previews a sync against the sandbox it starts by default', async () => {
    const check = await scoreflow(['crm', 'check'], env);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('ok      contacts read (crm.objects.contacts.read): token from the local sandbox accepted');
    expect(check.stdout).toContain('ok      contacts write (crm.objects.contacts.write)');
    const preview = await scoreflow(['crm', 'sync', '--dry-run', '--json'], env);
    const [{ published }] = (await h.query('select count(*)::int as published from scoring.lead_scores')) as [{ published: number }];
    expect(JSON.parse(preview.stdout)).toMatchObject({ contacts: 0, unchanged: published });
    const bad = await scoreflow(['crm', 'check'], { ...env, SCOREFLOW_CRM: 'hubspot', HUBSPOT_BASE_URL: h.sandbox.url, HUBSPOT_ACCESS_TOKEN: 'pat-wrong' });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('MISSING contacts read (crm.objects.contacts.read): HubSpot rejected the access token from HUBSPOT_ACCESS_TOKEN');
    expect(bad.stdout + bad.stderr).not.toContain('pat-wrong');
  });

  it('backfills dates oldest first', async () => {
    const res = await scoreflow(['backfill', '--from', '2026-07-02', '--to', '2026-07-04', '--json'], env);
    expect(res.code).toBe(0);
    const rows = await h.query<{ run_id: string }>("select run_id from scoring.pipeline_runs where as_of > '2026-07-01' order by started_at");
    expect(rows.map((r) => r.run_id)).toEqual(['lead-scoring-2026-07-02', 'lead-scoring-2026-07-03', 'lead-scoring-2026-07-04']);
  });

  it.each([[['run', '--hubspot-token', 'abc']], [['crm', 'check', '--token=abc']], [['run', 'pat-na1-0000-1111']]])(
    'refuses to start with a token on the command line: %j',
    async (args) => {
      const res = await scoreflow(args, env);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('tokens are never taken on the command line; set HUBSPOT_ACCESS_TOKEN or HUBSPOT_ACCESS_TOKEN_FILE');
      expect(res.stderr).not.toContain('abc');
      expect(res.stderr).not.toContain('0000-1111');
    },
  );

  it('refuses an unreal date with the format to use', async () => {
    const res = await scoreflow(['run', '--as-of', '2026-02-30'], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('"2026-02-30" is not a date; write it as YYYY-MM-DD');
  });
});

// After the lead-scoring commands above, whose run lists it would otherwise join.
describe('scoreflow for the product recommender', () => {
  it('seeds the shop, runs the recommender and shows a customer\'s five products with their names', async () => {
    const seeded = await scoreflow(['seed', '--pipeline', 'product-recs', '--customers', '300', '--products', '200'], env);
    expect(seeded.stdout).toContain('filled shop.customers, shop.products and shop.purchases: 300 customers, 200 products');
    const ran = await scoreflow(['run', '--pipeline', 'product-recs', '--as-of', '2026-11-23', '--json'], env);
    expect(ran.code, ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({ runId: 'product-recs-2026-11-23', extracted: 300, published: 300 });
    const shown = JSON.parse((await scoreflow(['recs', 'show', '--customer', '2', '--json'], env)).stdout) as { recommendations: Array<{ rank: number; name: string; runId: string }> };
    expect(shown.recommendations.map((r) => r.rank)).toEqual([1, 2, 3, 4, 5]);
    expect(shown.recommendations.every((r) => r.name && r.runId === 'product-recs-2026-11-23')).toBe(true);
    const text = await scoreflow(['recs', 'show', '--customer', '2'], env);
    expect(text.stdout).toMatch(/^customer 2: run product-recs-2026-11-23, model 1\.0\.0\n {2}1\. /);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { makeHarness, type Harness } from '../support/harness.js';
import { readCard } from '../../models/load-model.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import type { PipelineDefinitionInput } from '../../pipelines/index.js';
import { runIdFor } from '../../workflows/pipeline.js';
import { createOrUpdateSchedule, describeSchedule, scheduleHandle } from '../../workers/schedule.js';
import { today } from '../../workers/dates.js';
import { listPipelines } from '../../workers/pipeline-commands.js';

const MODEL_DIR = `${PROJECT_ROOT}/models/lead-scoring`;
const card = readCard(MODEL_DIR);

/**
 * A third pipeline, declared here only: a partner's leads in a table of their own (other key and change
 * column names, the lead model's feature columns), its own sink tables, no CRM sink. Nothing in workflows/
 * or activities/ knows it.
 */
const partnerLeads: PipelineDefinitionInput = {
  id: 'partner-leads',
  source: { table: 'partner.partner_leads', key: 'partner_lead_id', change: 'modified_at', features: card.inputs.map((i) => i.name) },
  modelDir: MODEL_DIR,
  output: { kind: 'probability-buckets' },
  sinks: { current: 'partner.lead_scores', history: 'partner.lead_score_history' },
  schedule: { timezone: 'Europe/Berlin', calendars: [{ hour: 7, minute: 30, dayOfWeek: 1 }] },
  sizing: { chunkSize: 100, concurrency: 2 },
};

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('a third pipeline from a definition, a model and its tables', () => {
  it('scores its own source into its own sink tables through the generic workflow, leaving lead scoring\'s tables untouched', async () => {
    h = await makeHarness({}, { pipelines: [partnerLeads] });
    await h.seed(500);
    await h.run('2026-05-04');
    const leadTables = async () => ({
      ...(await h!.publishedTables()),
      watermark: await h!.query("select * from scoring.watermarks where pipeline = 'lead-scoring'"),
    });
    const before = await leadTables();

    await createPartnerTables(h);

    const result = await h.run('2026-05-04', { pipeline: 'partner-leads' });
    expect(result).toMatchObject({ runId: 'partner-leads-2026-05-04', extracted: 300, chunks: 3, scored: 300, rejected: 0, published: 300 });
    expect(result.crm).toBeUndefined();

    const scores = await h.query<{ n: number; run: string; sha: string }>(
      'select count(*)::int as n, min(run_id) as run, min(model_sha256) as sha from partner.lead_scores',
    );
    expect(scores[0]).toEqual({ n: 300, run: 'partner-leads-2026-05-04', sha: card.sha256 });
    // Its history is a plain table shaped like scoring.lead_score_history: each row copied with the run's model.
    expect(await h.query('select model_version, model_sha256, count(*)::int as n from partner.lead_score_history group by 1, 2'))
      .toEqual([{ model_version: card.version, model_sha256: card.sha256, n: 300 }]);
    // The same lead model on the same feature values gives the same scores as lead scoring's.
    const differing = await h.query<{ n: number }>(
      'select count(*)::int as n from partner.lead_scores p join scoring.lead_scores l using (lead_id) where p.score <> l.score or p.bucket <> l.bucket',
    );
    expect(differing[0]!.n).toBe(0);
    expect(await leadTables()).toEqual(before);

    const [run] = await h.query("select * from scoring.pipeline_runs where run_id = 'partner-leads-2026-05-04'");
    expect(run).toMatchObject({ pipeline: 'partner-leads', status: 'published', leads_published: 300, crm_status: null, crm_sent: null });
    const description = await h.rt.temporal!.client.workflow.getHandle(runIdFor({ pipeline: 'partner-leads', asOf: '2026-05-04' })).describe();
    expect(description.type).toBe('pipelineWorkflow');

    // Its own watermark: the next day takes only the partner row that changed.
    await h.query("update partner.partner_leads set modified_at = now(), company_size = 250 where partner_lead_id = (select min(partner_lead_id) from partner.partner_leads)");
    const next = await h.run('2026-05-05', { pipeline: 'partner-leads' });
    expect(next).toMatchObject({ extracted: 1, published: 1 });
    expect((await h.query<{ n: number }>('select count(*)::int as n from partner.lead_score_history'))[0]!.n).toBe(301);
    expect(await leadTables()).toEqual(before);
  });

  it('has a schedule of its own from its calendar spec, whose runs are named <pipeline>-<date>', async () => {
    h = await makeHarness({}, { pipelines: [partnerLeads] });
    await h.seed(300);
    await createPartnerTables(h);
    expect(await createOrUpdateSchedule(h.rt, 'partner-leads')).toBe('created');
    try {
      const described = await describeSchedule(h.rt, 'partner-leads');
      expect(described).toMatchObject({ scheduleId: 'partner-leads-schedule', calendars: ['Mon 07:30'], timezone: 'Europe/Berlin' });
      // Mondays at 07:30 in Berlin: 05:30 or 06:30 UTC, never another weekday.
      for (const at of described.nextRuns) {
        const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', weekday: 'short', hour: '2-digit', minute: '2-digit' }).format(new Date(at));
        expect(berlin).toBe('Mon 07:30');
      }
      const listed = await listPipelines(h.rt);
      expect(listed.map((p) => [p.id, p.schedule.exists, p.nextRunFrom])).toEqual([['lead-scoring', false, 'definition'], ['product-recs', false, 'definition'], ['partner-leads', true, 'temporal-schedule']]);
      expect(listed[2]!.nextRun).toBe(described.nextRuns[0]);
      await scheduleHandle(h.rt, 'partner-leads').trigger();
      const workflowId = `partner-leads-${today('Europe/Berlin')}`;
      expect(await waitForResult(h, workflowId)).toMatchObject({ runId: workflowId, extracted: 300, published: 300 });
      const counted = await h.query<{ n: number }>('select count(*)::int as n from partner.lead_scores where run_id = $1', [workflowId]);
      expect(counted[0]!.n).toBe(300);
      expect((await h.query<{ n: number }>('select count(*)::int as n from scoring.lead_scores'))[0]!.n).toBe(0);
      expect((await listPipelines(h.rt))[2]!.lastRun).toMatchObject({ runId: workflowId, status: 'published' });
    } finally {
      await scheduleHandle(h.rt, 'partner-leads').delete();
    }
  });
});

/** The partner's source (300 rows reusing lead ids on purpose: only the sink tables keep the pipelines apart) and its sink tables. */
async function createPartnerTables(h: Harness): Promise<void> {
  const features = card.inputs.map((i) => `"${i.name}"`).join(', ');
  await h.query('create schema partner');
  await h.query(`create table partner.partner_leads as
                 select lead_id as partner_lead_id, updated_at as modified_at, ${features} from public.leads
                 where lead_id <= (select min(lead_id) + 299 from public.leads)`);
  await h.query('create table partner.lead_scores (like scoring.lead_scores including all, primary key (lead_id))');
  await h.query('create table partner.lead_score_history (like scoring.lead_score_history including all)');
}

async function waitForResult(h: Harness, workflowId: string): Promise<unknown> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await h.rt.temporal!.client.workflow.getHandle(workflowId).result();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

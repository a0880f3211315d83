import { afterEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from '../support/harness.js';
import { readCard } from '../../models/load-model.js';

const card = readCard(new URL('../../models/lead-scoring', import.meta.url).pathname);
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('the daily lead-scoring pipeline on real Temporal and PostgreSQL', () => {
  it('scores every seeded lead once, naming the model version and file hash', async () => {
    h = await makeHarness();
    await h.seed(1500);
    const result = await h.run('2026-03-02');

    expect(result).toMatchObject({ runId: 'lead-scoring-2026-03-02', extracted: 1500, chunks: 4, scored: 1500, rejected: 0, published: 1500 });
    const scores = await h.query<{ n: number; leads: number; version: string; sha: string; run: string; min: number; max: number }>(
      `select count(*)::int as n, count(distinct lead_id)::int as leads, min(model_version) as version, min(model_sha256) as sha,
              min(run_id) as run, min(score) as min, max(score) as max from scoring.lead_scores`,
    );
    expect(scores[0]).toMatchObject({ n: 1500, leads: 1500, version: card.version, sha: card.sha256, run: 'lead-scoring-2026-03-02' });
    expect(scores[0]!.min).toBeGreaterThanOrEqual(0);
    expect(scores[0]!.max).toBeLessThanOrEqual(1);
    const buckets = await h.query<{ bucket: string }>('select distinct bucket from scoring.lead_scores order by 1');
    expect(buckets.map((b) => b.bucket)).toEqual(card.buckets.map((b) => b.name).sort());
    const history = await h.query<{ n: number }>('select count(*)::int as n from scoring.lead_score_history');
    expect(history[0]!.n).toBe(1500);
    const [audit] = await h.query('select * from scoring.pipeline_runs');
    expect(audit).toMatchObject({
      run_id: 'lead-scoring-2026-03-02', status: 'published', model_version: card.version, model_sha256: card.sha256,
      leads_extracted: 1500, leads_scored: 1500, leads_rejected: 0, leads_published: 1500, error_type: null,
    });
    expect(audit!['temporal_run_id']).toMatch(/^[0-9a-f-]{36}$/);
    const staged = await h.query<{ n: number }>('select count(*)::int as n from scoring.staged_scores');
    expect(staged[0]!.n).toBe(0);
  });

  it('leaves identical tables when the same date is run twice; the audit row only names the new execution', async () => {
    h = await makeHarness();
    await h.seed(900);
    const result = await h.run('2026-03-02');
    const first = await h.publishedTables();
    const audit = async () => {
      const rows = await h!.query<Record<string, unknown>>('select * from scoring.pipeline_runs');
      const temporalRunIds = rows.map((r) => r['temporal_run_id']);
      // A rerun's own HubSpot calls (the property check) are added to crm_calls; nothing else changes.
      for (const r of rows) for (const column of ['temporal_run_id', 'updated_at', 'crm_calls']) delete r[column];
      return { kept: rows, temporalRunIds };
    };
    const others = async () => ({
      watermarks: await h!.query('select * from scoring.watermarks'),
      crmState: await h!.query('select * from scoring.crm_sync_state order by 1, 2'),
      runLeads: await h!.query('select count(*)::int as n from scoring.run_leads'),
    });
    const auditBefore = await audit();
    const othersBefore = await others();
    const again = await h.run('2026-03-02');
    expect({ ...again, crm: { ...again.crm, calls: 0 } }).toEqual({ ...result, crm: { ...result.crm, calls: 0 } });
    expect(await h.publishedTables()).toEqual(first);
    const auditAfter = await audit();
    expect(auditAfter.kept).toEqual(auditBefore.kept);
    expect(auditAfter.temporalRunIds).not.toEqual(auditBefore.temporalRunIds);
    expect(await others()).toEqual(othersBefore);
  });

  it('rescores a lead changed after a run the next day, and only it', async () => {
    h = await makeHarness();
    await h.seed(800);
    await h.run('2026-03-02');
    await h.query(`update public.leads set site_visits_30d = site_visits_30d + 40, demo_requested = true, updated_at = now() where lead_id = 17`);
    const before = await h.query<{ score: number }>('select score from scoring.lead_scores where lead_id = 17');

    const next = await h.run('2026-03-03');

    expect(next).toMatchObject({ extracted: 1, scored: 1, published: 1 });
    const rescored = await h.query<{ lead_id: string; score: number }>(
      "select lead_id, score from scoring.lead_scores where run_id = 'lead-scoring-2026-03-03'",
    );
    expect(rescored.map((r) => r.lead_id)).toEqual(['17']);
    expect(rescored[0]!.score).not.toBe(before[0]!.score);
    const history = await h.query<{ run_id: string }>('select run_id from scoring.lead_score_history where lead_id = 17 order by scored_at');
    expect(history.map((r) => r.run_id)).toEqual(['lead-scoring-2026-03-02', 'lead-scoring-2026-03-03']);
    const quiet = await h.run('2026-03-04');
    expect(quiet).toMatchObject({ extracted: 0, chunks: 0, published: 0 });
  });

  it('rescores every lead with --full and when the model file changes', async () => {
    h = await makeHarness();
    await h.seed(500);
    await h.run('2026-03-02');
    const full = await h.run('2026-03-03', { full: true });
    expect(full).toMatchObject({ runId: 'lead-scoring-2026-03-03-full', extracted: 500, published: 500 });
    await h.query("update scoring.watermarks set model_sha256 = 'an-older-model'");
    await h.query("update scoring.pipeline_runs set model_sha256 = 'an-older-model' where pipeline = 'lead-scoring'");
    const afterModelChange = await h.run('2026-03-04');
    expect(afterModelChange.extracted).toBe(500);
  });
});

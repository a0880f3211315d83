import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from '../support/harness.js';
import { cliEnv, scoreflow } from '../support/scoreflow-cli.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** Rows of `table` per run id, for the tables pruning touches. */
async function rowsPerRun(h: Harness, table: string): Promise<Record<string, number>> {
  const rows = await h.query<{ run_id: string; n: number }>(`select run_id, count(*)::int as n from ${perLead(table)} group by run_id order by run_id`);
  return Object.fromEntries(rows.map((r) => [r.run_id, r.n]));
}

/** A scoreflow table as one row per lead: a run's snapshot holds an array of lead ids per chunk. */
function perLead(table: string): string {
  return table === 'run_leads' ? 'scoring.run_leads, unnest(lead_ids) as lead_id' : `scoring.${table}`;
}

/** Moves every run up to `asOf` 40 days into the past, as if it had run then. */
async function age(h: Harness, asOf: string): Promise<void> {
  await h.query(
    `update scoring.pipeline_runs set started_at = started_at - interval '40 days', updated_at = updated_at - interval '40 days',
       finished_at = finished_at - interval '40 days' where as_of <= $1`,
    [asOf],
  );
}

/** A run that staged scores and then stopped for good (its worker fleet was gone, nobody reran it). */
async function abandonedRun(h: Harness, runId: string, leadIds: number[]): Promise<void> {
  await h.query(
    `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, chunks, leads_extracted)
     values ($1, 'lead-scoring', right($1, 10)::date, 'scoring', 'test', 1, cardinality($2::bigint[]))`,
    [runId, leadIds],
  );
  await h.query('insert into scoring.run_leads (run_id, chunk, lead_ids) values ($1, 0, $2::bigint[])', [runId, leadIds]);
  await h.query("insert into scoring.run_chunks (run_id, chunk, scored, rejected, score_ms) values ($1, 0, cardinality($2::bigint[]), 0, 1)", [runId, leadIds]);
  await h.query(
    `insert into scoring.staged_scores (run_id, lead_id, chunk, score, bucket, source_updated_at, scored_at)
     select $1, id, 0, 0.5, 'warm', now(), now() from unnest($2::bigint[]) as id`,
    [runId, leadIds],
  );
}

// Upsert creates the sandbox contacts, so each run sends only what changed since the one before.
const UPSERT = { SCOREFLOW_CRM_SYNC_MODE: 'upsert' };

describe('retention of working rows', () => {
  it('`scoreflow prune` removes the snapshot, staged scores and CRM outbox of runs older than the retention, and keeps audit rows, scores and history', async () => {
    // The workers keep 60 days, so only the command (default 30) prunes here.
    h = await makeHarness({ ...UPSERT, SCOREFLOW_RETENTION_DAYS: '60' });
    await h.seed(500);
    await abandonedRun(h, 'lead-scoring-2025-02-01', [1, 2, 3]);
    await h.run('2025-02-02');
    await age(h, '2025-02-02');
    await h.query('update public.leads set demo_requested = not demo_requested, updated_at = now() where lead_id <= 20');
    await h.run('2025-02-03');
    await h.query("insert into scoring.crm_rate_log (called_at) values (now() - interval '40 days'), (now() - interval '40 days')");
    const historyBefore = await rowsPerRun(h, 'lead_score_history');
    const scoresBefore = await h.query('select * from scoring.lead_scores order by lead_id');
    const [crmBefore] = await h.query("select crm_sent from scoring.pipeline_runs where run_id = 'lead-scoring-2025-02-02'");
    expect((await rowsPerRun(h, 'crm_outbox'))['lead-scoring-2025-02-02']).toBe(500);

    const res = await scoreflow(['prune', '--json'], cliEnv(h));

    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ retentionDays: 30, runLeads: 503, stagedScores: 3, runChunks: 1, crmOutbox: 500, outboxTables: 1, crmRateLog: 2 });
    expect(await rowsPerRun(h, 'run_leads')).toEqual({ 'lead-scoring-2025-02-03': 20 });
    expect(Object.keys(await rowsPerRun(h, 'crm_outbox'))).toEqual(['lead-scoring-2025-02-03']);
    // The old run's outbox table is gone, not left empty under scoring.crm_outbox.
    expect(await h.query("select inhrelid::regclass::text as tab from pg_inherits where inhparent = 'scoring.crm_outbox'::regclass"))
      .toEqual([{ tab: 'scoring.outbox_lead_scoring_2025_02_03_' + md5('lead-scoring-2025-02-03').slice(0, 8) }]);
    expect(Object.keys(await rowsPerRun(h, 'crm_batches'))).toEqual(['lead-scoring-2025-02-03']);
    expect(await rowsPerRun(h, 'staged_scores')).toEqual({});
    expect(Object.keys(await rowsPerRun(h, 'run_chunks'))).toEqual(['lead-scoring-2025-02-02', 'lead-scoring-2025-02-03']);
    expect(await h.query<{ n: number }>("select count(*)::int as n from scoring.crm_rate_log where called_at < now() - interval '30 days'")).toEqual([{ n: 0 }]);
    const audit = await h.query('select run_id, status, chunks from scoring.pipeline_runs order by run_id');
    expect(audit).toEqual([
      { run_id: 'lead-scoring-2025-02-01', status: 'scoring', chunks: null },
      { run_id: 'lead-scoring-2025-02-02', status: 'published', chunks: 2 },
      { run_id: 'lead-scoring-2025-02-03', status: 'published', chunks: 1 },
    ]);
    expect(await rowsPerRun(h, 'lead_score_history')).toEqual(historyBefore);
    expect(await h.query('select * from scoring.lead_scores order by lead_id')).toEqual(scoresBefore);

    const rerun = await h.run('2025-02-02');
    expect(rerun).toMatchObject({ published: 500 });
    expect(await h.query("select crm_sent from scoring.pipeline_runs where run_id = 'lead-scoring-2025-02-02'")).toEqual([crmBefore]);
    expect(await h.query('select * from scoring.lead_scores order by lead_id')).toEqual(scoresBefore);
  });

  it('is pruned by the daily run once it has published, and the log says what went', async () => {
    const lines: string[] = [];
    h = await makeHarness({ ...UPSERT, SCOREFLOW_RETENTION_DAYS: '10' }, { logSink: { write: (line) => lines.push(line) } });
    await h.seed(300);
    await h.run('2025-02-02');
    await age(h, '2025-02-02');
    await h.query('update public.leads set demo_requested = not demo_requested, updated_at = now() where lead_id = 17');

    await h.run('2025-02-03');

    expect(await rowsPerRun(h, 'run_leads')).toEqual({ 'lead-scoring-2025-02-03': 1 });
    expect(await rowsPerRun(h, 'crm_outbox')).toEqual({ 'lead-scoring-2025-02-03': 1 });
    expect(Object.keys(await rowsPerRun(h, 'crm_batches'))).toEqual(['lead-scoring-2025-02-03']);
    expect(await h.query<{ n: number }>('select count(*)::int as n from scoring.pipeline_runs')).toEqual([{ n: 2 }]);
    expect(await h.query<{ n: number }>('select count(*)::int as n from scoring.lead_scores')).toEqual([{ n: 300 }]);
    expect(await rowsPerRun(h, 'lead_score_history')).toEqual({ 'lead-scoring-2025-02-02': 300, 'lead-scoring-2025-02-03': 1 });
    const pruned = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'pruned working rows past retention');
    expect(pruned).toContainEqual(expect.objectContaining({ retentionDays: 10, runLeads: 300, crmOutbox: 300 }));
  });
});

describe('forgetting a person', () => {
  it('`scoreflow forget` removes every row of that person from every scoreflow table and says the HubSpot contact is still there', async () => {
    h = await makeHarness(UPSERT);
    await h.seed(300);
    const [{ email }] = (await h.query<{ email: string }>('select lower(btrim(email)) as email from public.leads where lead_id = 17')) as [{ email: string }];
    // The same person twice in the source, once written differently: the second copy is skipped by the CRM stage.
    await h.query("update public.leads set email = '  ' || upper($1) where lead_id = 18", [email]);
    await h.run('2025-02-02');
    await h.query('update public.leads set industry = null, updated_at = now() where lead_id = 18');
    await h.run('2025-02-03');
    await abandonedRun(h, 'lead-scoring-2025-02-04', [17, 18, 19]);
    const tables = ['crm_outbox', 'crm_sync_state', 'crm_sync_failures', 'lead_scores', 'lead_score_history', 'rejected_leads', 'run_leads', 'staged_scores'];
    const held = async () => {
      const counts: Record<string, number> = {};
      for (const t of tables) {
        counts[t] = (await h!.query<{ n: number }>(`select count(*)::int as n from ${perLead(t)} where lead_id in (17, 18)`))[0]!.n;
      }
      return counts;
    };
    const before = await held();
    for (const t of tables) expect(before[t], t).toBeGreaterThan(0);
    const others = await h.query<{ n: number }>('select count(*)::int as n from scoring.lead_score_history where lead_id not in (17, 18)');

    const res = await scoreflow(['forget', '--email', ` ${email.toUpperCase()}`, '--json'], { ...cliEnv(h), LOG_LEVEL: 'info' });

    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ email, leadIds: ['17', '18'], removed: before, sourceRows: 2, hubspot: { checked: true, contactId: expect.any(String) } });
    expect((report['hubspot'] as { properties: Record<string, string | null> }).properties['lead_score']).toEqual(expect.any(String));
    expect(await held()).toEqual(Object.fromEntries(tables.map((t) => [t, 0])));
    expect(await h.query<{ n: number }>('select count(*)::int as n from scoring.crm_outbox where email = $1', [email])).toEqual([{ n: 0 }]);
    expect(await h.query<{ n: number }>('select count(*)::int as n from scoring.crm_sync_state where email = $1', [email])).toEqual([{ n: 0 }]);
    expect(await h.query('select count(*)::int as n from scoring.lead_score_history where lead_id not in (17, 18)')).toEqual(others);
    expect(res.stderr).toContain('forgot a person');
    expect(res.stderr.toLowerCase()).not.toContain(email);

    const again = await scoreflow(['forget', '--email', email], cliEnv(h));
    expect(again.stdout).toContain(`forgot ${email}: lead 17, 18`);
    expect(again.stdout).toContain('removed from scoreflow: crm_outbox 0, crm_sync_state 0');
    expect(again.stdout).toContain('public.leads: 2 rows with this email; delete them there, or the next run scores them again');
    expect(again.stdout).toMatch(/HubSpot \(.+\): contact \S+ holds lead_score=.*; delete it in HubSpot \(e\.g\. a GDPR delete\)/);
  });
});

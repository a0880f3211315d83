import { afterEach, describe, expect, it } from 'vitest';
import { withTransaction } from '../../db/pool.js';
import { planOutbox } from '../../activities/sql/crm-outbox.js';
import { parseLeadsTable } from '../../source/leads-table.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('planning the CRM outbox from the source\'s emails', () => {
  it('sends each lead to its email: a unique key\'s row, or of a key the source repeats, its newest row\'s', async () => {
    h = await makeHarness({}, { worker: false });
    await h.query('create table public.keyed_leads (lead_id bigint primary key, email text, updated_at timestamptz not null)');
    await h.query(`insert into public.keyed_leads select i, 'lead' || i || '@example.com', now() - interval '1 hour' from generate_series(1, 40) i`);
    // Leads 1-10 again with an older email (0 days) and leads 11-20 with a newer one: a view whose key repeats.
    await h.query(`create view public.repeated_leads as
      select * from public.keyed_leads
      union all select lead_id, 'older' || lead_id || '@example.com', updated_at - interval '1 day' from public.keyed_leads where lead_id <= 10
      union all select lead_id, 'newer' || lead_id || '@example.com', updated_at + interval '1 minute' from public.keyed_leads where lead_id between 11 and 20`);
    await h.query(
      `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_name, model_version, model_sha256)
       values ('plan-keys', 'lead-scoring', current_date, 'published', 'test', 'lead-scoring', '1.0.0', repeat('0', 64))`);
    await h.query(`insert into scoring.lead_scores_rows (lead_id, score, bucket, run_id, source_updated_at, scored_at)
      select i, 0.5, 'warm', 'plan-keys', now(), now() from generate_series(1, 40) i`);

    /** The outbox's email per lead when planned from `table`; the outbox is emptied again for the next plan. */
    const plannedEmails = async (table: string) => {
      await withTransaction(h!.rt.pool, (client) => planOutbox(client, {
        runId: 'plan-keys', pipeline: 'lead-scoring', table: parseLeadsTable(table), current: 'scoring.lead_scores_rows',
        target: 'sandbox:plan-keys', epsilon: 0, partitions: 2, capacity: Number.MAX_SAFE_INTEGER,
      }));
      const rows = await h!.query<{ lead_id: string; email: string }>("select lead_id, email from scoring.crm_outbox where run_id = 'plan-keys' order by lead_id");
      await h!.query("delete from scoring.crm_outbox where run_id = 'plan-keys'");
      return rows.map((r) => [Number(r.lead_id), r.email]);
    };
    const own = (i: number) => [i, `lead${i}@example.com`];
    const all = Array.from({ length: 40 }, (_, i) => i + 1);

    expect(await plannedEmails('public.keyed_leads')).toEqual(all.map(own));
    expect(await plannedEmails('public.repeated_leads')).toEqual(all.map((i) => (i >= 11 && i <= 20 ? [i, `newer${i}@example.com`] : own(i))));
  });
});

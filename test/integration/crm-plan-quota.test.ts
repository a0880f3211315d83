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

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('planning the CRM outbox within the day\'s quota', () => {
  it('sends the highest priorities up to the capacity, records every other sendable contact as deferred and every duplicate email as skipped, each once', async () => {
    h = await makeHarness({}, { worker: false });
    // Leads 1..250 scored i/1000; leads 241..250 have the emails of 231..240, and being the higher ids with the same scoring time, they are kept.
    await h.query('create table public.quota_leads (lead_id bigint primary key, email text, updated_at timestamptz not null)');
    await h.query(`insert into public.quota_leads select i, 'lead' || (case when i > 240 then i - 10 else i end) || '@example.com', now() from generate_series(1, 250) i`);
    await h.query(`insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_name, model_version, model_sha256)
      select run_id, 'lead-scoring', current_date, 'published', 'test', 'lead-scoring', '1.0.0', repeat('0', 64) from unnest(array['quota-100', 'quota-240']) run_id`);
    await h.query(`insert into scoring.lead_scores_rows (lead_id, score, bucket, run_id, source_updated_at, scored_at)
      select i, i / 1000.0, 'warm', 'quota-100', now(), '2026-03-01T06:00:00Z' from generate_series(1, 250) i`);
    const plan = (runId: string, capacity: number) => withTransaction(h!.rt.pool, (client) => planOutbox(client, {
      runId, pipeline: 'lead-scoring', table: parseLeadsTable('public.quota_leads'), current: 'scoring.lead_scores_rows',
      target: 'sandbox:quota', epsilon: 0, partitions: 2, capacity,
    }));
    const ids = async (sql: string, runId: string) => (await h!.query<{ id: number }>(sql, [runId])).map((r) => r.id);
    const failures = (runId: string, kind: string) =>
      ids(`select lead_id::int as id from scoring.crm_sync_failures where run_id = $1 and kind = '${kind}' order by 1`, runId);

    expect(await plan('quota-100', 100)).toMatchObject({ contacts: 100, skipped: 10, deferred: 140, unchanged: 0 });
    expect(await ids('select lead_id::int as id from scoring.crm_outbox where run_id = $1 order by 1', 'quota-100')).toEqual([...range(141, 230), ...range(241, 250)]);
    expect(await failures('quota-100', 'deferred')).toEqual(range(1, 140));
    expect(await failures('quota-100', 'skipped')).toEqual(range(231, 240));
    expect(await h.query("select reason from scoring.crm_sync_failures where run_id = 'quota-100' and lead_id = 231")).toEqual([{ reason: 'lead 241 has the same email and was sent instead' }]);

    // A capacity the sendable contacts just fill: a full outbox, and nothing left out.
    expect(await plan('quota-240', 240)).toMatchObject({ contacts: 240, skipped: 10, deferred: 0 });
    expect(await failures('quota-240', 'deferred')).toEqual([]);
  });
});

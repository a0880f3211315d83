import { afterEach, describe, expect, it } from 'vitest';
import { withTransaction } from '../../db/pool.js';
import { planOutbox, readBatch } from '../../activities/sql/crm-outbox.js';
import { parseLeadsTable } from '../../source/leads-table.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const LEADS = 250;

/** Published scores of `runId` for leads 1..LEADS, each with an email in public.plan_leads. */
async function publishedRun(h: Harness, runId: string): Promise<void> {
  await h.query(
    `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_name, model_version, model_sha256)
     values ($1, 'lead-scoring', current_date, 'published', 'test', 'lead-scoring', '1.0.0', repeat('0', 64))`, [runId]);
  await h.query(
    `insert into scoring.lead_scores_rows (lead_id, score, bucket, run_id, source_updated_at, scored_at)
     select i, i / 1000.0, 'warm', $1, now(), now() from generate_series(1, $2::int) i
     on conflict (lead_id) do update set run_id = excluded.run_id`, [runId, LEADS]);
}

const plan = (h: Harness, runId: string) => withTransaction(h.rt.pool, (client) => planOutbox(client, {
  runId, pipeline: 'lead-scoring', table: parseLeadsTable('public.plan_leads'), current: 'scoring.lead_scores_rows',
  target: 'sandbox:per-run', epsilon: 0, partitions: 2, capacity: Number.MAX_SAFE_INTEGER,
}));

/** The tables under scoring.crm_outbox, with their rows' run ids and their own primary key. */
const outboxTables = (h: Harness) => h.query(
  `select c.relname as table, (select array_agg(distinct run_id) from scoring.crm_outbox o where o.tableoid = c.oid) as runs,
          (select pg_get_constraintdef(k.oid) from pg_constraint k where k.conrelid = c.oid and k.contype = 'p') as key
   from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'scoring.crm_outbox'::regclass order by 1`);

describe('a run\'s CRM outbox in a table of its own', () => {
  it('is filled, keyed and attached under scoring.crm_outbox by the plan; planning the run again empties and refills it, other runs\' outboxes readable meanwhile; a plan rolled back leaves none', async () => {
    h = await makeHarness({}, { worker: false });
    await h.query('create table public.plan_leads (lead_id bigint primary key, email text, updated_at timestamptz not null)');
    await h.query(`insert into public.plan_leads select i, 'lead' || i || '@example.com', now() from generate_series(1, $1::int) i`, [LEADS]);
    await publishedRun(h, 'lead-scoring-2026-03-01');

    expect(await plan(h, 'lead-scoring-2026-03-01')).toMatchObject({ contacts: LEADS, batches: 3 });
    const key = 'PRIMARY KEY (run_id, partition, batch, lead_id)';
    const first = { table: expect.stringMatching(/^outbox_lead_scoring_2026_03_01_[0-9a-f]{8}$/), runs: ['lead-scoring-2026-03-01'], key };
    expect(await outboxTables(h)).toEqual([first]);
    // Readers ask scoring.crm_outbox: a batch comes back whole, highest priority first across batches, in key order within one.
    const batch = await readBatch(h.rt.pool, 'lead-scoring-2026-03-01', 0, 0);
    expect(batch.map((c) => Number(c.lead_id))).toEqual(Array.from({ length: 100 }, (_, i) => LEADS - 99 + i));
    expect(batch[0]).toMatchObject({ email: `lead${LEADS - 99}@example.com`, bucket: 'warm' });

    // A plan whose run was reset: the run is planned again with one lead no longer published. While that plan is open,
    // other runs' outboxes stay readable: it empties the run's table, it does not drop it (which would lock crm_outbox whole).
    await publishedRun(h, 'lead-scoring-2026-02-28');
    await plan(h, 'lead-scoring-2026-02-28');
    await h.query('delete from scoring.lead_scores_rows where lead_id = $1', [LEADS]);
    await withTransaction(h.rt.pool, async (client) => {
      const again = await planOutbox(client, {
        runId: 'lead-scoring-2026-03-01', pipeline: 'lead-scoring', table: parseLeadsTable('public.plan_leads'), current: 'scoring.lead_scores_rows',
        target: 'sandbox:per-run', epsilon: 0, partitions: 2, capacity: Number.MAX_SAFE_INTEGER,
      });
      expect(again).toMatchObject({ contacts: LEADS - 1 });
      expect(await withTransaction(h!.rt.pool, async (other) => {
        await other.query("set local lock_timeout = '2s'");
        return (await other.query("select count(*)::int as n from scoring.crm_outbox where run_id = 'lead-scoring-2026-02-28'")).rows;
      })).toEqual([{ n: LEADS }]);
    });
    const earlier = { ...first, table: expect.stringMatching(/^outbox_lead_scoring_2026_02_28_[0-9a-f]{8}$/), runs: ['lead-scoring-2026-02-28'] };
    expect(await outboxTables(h)).toEqual([earlier, first]);
    expect(await h.query("select count(*)::int as n, max(lead_id)::int as last from scoring.crm_outbox where run_id = 'lead-scoring-2026-03-01'"))
      .toEqual([{ n: LEADS - 1, last: LEADS - 1 }]);

    // The dry run's plan is rolled back: no table, no rows.
    await publishedRun(h, 'lead-scoring-2026-03-02');
    await expect(withTransaction(h.rt.pool, async (client) => {
      await planOutbox(client, {
        runId: 'lead-scoring-2026-03-02', pipeline: 'lead-scoring', table: parseLeadsTable('public.plan_leads'), current: 'scoring.lead_scores_rows',
        target: 'sandbox:per-run', epsilon: 0, partitions: 2, capacity: Number.MAX_SAFE_INTEGER,
      });
      throw new Error('rolled back');
    })).rejects.toThrow('rolled back');
    expect(await outboxTables(h)).toEqual([earlier, first]);

    await plan(h, 'lead-scoring-2026-03-02');
    expect((await outboxTables(h)).map((t) => (t as { runs: string[] }).runs))
      .toEqual([['lead-scoring-2026-02-28'], ['lead-scoring-2026-03-01'], ['lead-scoring-2026-03-02']]);
  });
});

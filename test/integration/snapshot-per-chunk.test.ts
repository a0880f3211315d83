import { afterEach, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ExtractResult } from '../../activities/extract.js';
import { createScoringActivities } from '../../activities/index.js';
import { learnNewestHandled } from '../../activities/sql/newest-handled.js';
import { snapshotRunLeads, type ExtractMode } from '../../activities/sql/snapshot-run-leads.js';
import { makeLogger } from '../../lib/logger.js';
import { withClient, withTransaction, type PoolClient } from '../../db/pool.js';
import { parseLeadsTable } from '../../source/leads-table.js';
import { activityDeps } from '../../workers/worker.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** `ids` sorted by key and cut into chunks of `size`, as [chunk, ids] pairs. */
function chunksOf(ids: number[], size: number): Array<{ chunk: number; ids: number[] }> {
  const sorted = [...ids].sort((a, b) => a - b);
  const chunks: Array<{ chunk: number; ids: number[] }> = [];
  for (let i = 0; i < sorted.length; i += size) chunks.push({ chunk: i / size, ids: sorted.slice(i, i + size) });
  return chunks;
}

async function snapshotOf(h: Harness, runId: string): Promise<Array<{ chunk: number; ids: number[] }>> {
  const rows = await h.query<{ chunk: number; ids: string[] }>('select chunk, lead_ids as ids from scoring.run_leads where run_id = $1 order by chunk', [runId]);
  return rows.map((r) => ({ chunk: r.chunk, ids: r.ids.map(Number) }));
}

async function ids(h: Harness, sql: string): Promise<number[]> {
  return (await h.query<{ id: string }>(sql)).map((r) => Number(r.id));
}

/** The sha256 of the model run `runId` pinned. */
async function modelOf(h: Harness, runId: string): Promise<string> {
  return (await h.query<{ sha: string }>('select model_sha256 as sha from scoring.pipeline_runs where run_id = $1', [runId]))[0]!.sha;
}

type SnapshotParams = Parameters<typeof snapshotRunLeads>[1];

/**
 * Run `runId`'s audit row as extract starts it, then its snapshot (chunks of 100) in one transaction, as extract takes
 * it, with the scans of scoring.lead_scores_rows it started: of the table itself (`seq`) and of its key (`probes`).
 * Counted by this backend within the transaction, so that no other connection's statistics, flushed late, count.
 */
async function snapshotAs(h: Harness, runId: string, p: Omit<SnapshotParams, 'runId' | 'chunkSize'>) {
  await h.query("insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version) values ($1, 'lead-scoring', '2026-09-02', 'extracting', 'test')", [runId]);
  return withTransaction(h.rt.pool, async (client) => {
    const before = await scansOfCurrent(client);
    const taken = await snapshotRunLeads(client, { ...p, runId, chunkSize: 100 });
    const after = await scansOfCurrent(client);
    return { ...taken, scans: { seq: after.seq - before.seq, probes: after.probes - before.probes } };
  });
}

/** Scans of scoring.lead_scores_rows this backend has counted and not yet reported: sequential, and of its indexes. */
async function scansOfCurrent(client: PoolClient): Promise<{ seq: number; probes: number }> {
  const { rows } = await client.query<{ seq: number; probes: number }>(
    `select pg_stat_get_xact_numscans('scoring.lead_scores_rows'::regclass)::int as seq,
            (select coalesce(sum(pg_stat_get_xact_numscans(indexrelid)), 0)::int from pg_index where indrelid = 'scoring.lead_scores_rows'::regclass) as probes`,
  );
  return rows[0]!;
}

describe('a run\'s snapshot', () => {
  it('is one row per chunk holding its leads\' ids in key order, cut at the chunk size: all leads, the unscored ones, those changed since the watermark, and a source with repeated keys less the repeated ones', async () => {
    h = await makeHarness();
    await h.seed(1234);
    const sha = await modelOf(h, (await h.run('2026-09-01')).runId);
    await h.query("update public.leads set updated_at = now() where lead_id % 7 = 3");
    await h.query(`create table public.leads_twice as select * from public.leads;
      insert into public.leads_twice select * from public.leads where lead_id % 100 = 5`);

    const take = async (runId: string, table: string, mode: ExtractMode) => {
      const { snapshotted, duplicates } = await snapshotAs(h!, runId, { table: parseLeadsTable(table), current: 'scoring.lead_scores', modelSha256: sha, mode });
      return { snapshotted, duplicates };
    };
    const all = await ids(h, 'select lead_id as id from public.leads');
    const changed = await ids(h, 'select lead_id as id from public.leads where lead_id % 7 = 3');
    const once = await ids(h, 'select lead_id as id from public.leads where lead_id % 100 <> 5');

    expect(await take('full', 'public.leads', { kind: 'full' })).toEqual({ snapshotted: 1234, duplicates: 0 });
    expect(await snapshotOf(h, 'full')).toEqual(chunksOf(all, 100));
    expect(await take('unscored', 'public.leads', { kind: 'unscored' })).toEqual({ snapshotted: changed.length, duplicates: 0 });
    expect(await snapshotOf(h, 'unscored')).toEqual(chunksOf(changed, 100));
    expect(await take('since', 'public.leads', { kind: 'unscored', since: new Date(Date.now() - 3_600_000) })).toEqual({ snapshotted: changed.length, duplicates: 0 });
    expect(await snapshotOf(h, 'since')).toEqual(chunksOf(changed, 100));
    expect(await take('twice', 'public.leads_twice', { kind: 'full' })).toEqual({ snapshotted: once.length, duplicates: all.length - once.length });
    expect(await snapshotOf(h, 'twice')).toEqual(chunksOf(once, 100));
    expect(await take('none', 'public.leads', { kind: 'unscored', since: new Date(Date.now() + 3_600_000) })).toEqual({ snapshotted: 0, duplicates: 0 });
    expect(await snapshotOf(h, 'none')).toEqual([]);
  });

  it('reads nothing of the current table for a model never published (every lead\'s first run, or a model change), and skips the leads already scored once the model is', async () => {
    h = await makeHarness();
    await h.seed(500);
    const sha = await modelOf(h, (await h.run('2026-09-01')).runId);
    await h.query('update public.leads set updated_at = now() where lead_id % 9 = 4');
    /** The snapshot's count, and how many scans of the current table it started. */
    const take = async (runId: string, modelSha256: string) => {
      const { snapshotted, scans } = await snapshotAs(h!, runId, { table: parseLeadsTable('public.leads'), current: 'scoring.lead_scores_rows', modelSha256, mode: { kind: 'unscored' } });
      return { snapshotted, scans: scans.seq + scans.probes };
    };
    const changed = await ids(h, 'select lead_id as id from public.leads where lead_id % 9 = 4');

    expect(await take('new-model', 'f'.repeat(64))).toEqual({ snapshotted: 500, scans: 0 });
    expect(await snapshotOf(h, 'new-model')).toEqual(chunksOf(await ids(h, 'select lead_id as id from public.leads'), 100));
    const published = await take('same-model', sha);
    expect(published.snapshotted).toBe(changed.length);
    expect(published.scans).toBeGreaterThan(0);
    expect(await snapshotOf(h, 'same-model')).toEqual(chunksOf(changed, 100));
  });

  it('probes the current table only for leads changed no later than the newest change a published run of the model handled, once that is known', async () => {
    h = await makeHarness();
    await h.seed(500);
    const sha = await modelOf(h, (await h.run('2026-09-01')).runId);
    const newestHandled = async () => (await h!.query<{ known: boolean | null }>(
      "select newest_handled = (select max(source_updated_at) from scoring.lead_scores_rows) as known from scoring.watermarks where pipeline = 'lead-scoring'",
    ))[0]!.known;
    // The pipeline's first publish knows it: every lead, as it scored them.
    expect(await newestHandled()).toBe(true);
    await h.query('update public.leads set updated_at = now() where lead_id % 9 = 5');
    const changed = await ids(h, 'select lead_id as id from public.leads where lead_id % 9 = 5');
    // Every lead changed within the hour: those scored by the first run are probed and skipped, the changed ones are not probed.
    const take = async (runId: string) => {
      const { snapshotted, scans } = await snapshotAs(h!, runId, {
        table: parseLeadsTable('public.leads'), current: 'scoring.lead_scores_rows', modelSha256: sha, mode: { kind: 'unscored', since: new Date(Date.now() - 3_600_000) },
      });
      expect(await snapshotOf(h!, runId)).toEqual(chunksOf(changed, 100));
      return { snapshotted, probes: scans.probes };
    };

    expect(await take('known')).toEqual({ snapshotted: changed.length, probes: 500 - changed.length });
    // Not known (after a rollback, a model change, migration 020): every candidate is probed, until a morning learns it.
    await h.query('update scoring.watermarks set newest_handled = null');
    expect(await take('unknown')).toEqual({ snapshotted: changed.length, probes: 500 });
    await withClient(h.rt.pool, (client) => learnNewestHandled(client, { pipeline: 'lead-scoring', current: 'scoring.lead_scores_rows', modelSha256: sha }));
    expect(await newestHandled()).toBe(true);
    expect(await take('learnt')).toEqual({ snapshotted: changed.length, probes: 500 - changed.length });
  });

  it('is written once: extracting the run again returns it, and a second snapshot of the run is refused by the table\'s key', async () => {
    h = await makeHarness({ SCOREFLOW_CHUNK_SIZE: '100' }, { worker: false });
    await h.seed(250);
    const activities = createScoringActivities(activityDeps({ config: h.config, pool: h.rt.pool, log: makeLogger('warn'), crm: h.rt.crm }));
    const run = { runId: 'lead-scoring-2026-09-02', pipeline: 'lead-scoring', asOf: '2026-09-02', full: false };

    const extracted = await new MockActivityEnvironment().run(activities.extractLeads, run);
    const again = await new MockActivityEnvironment().run(activities.extractLeads, run);

    expect(again).toEqual(extracted);
    expect(extracted).toMatchObject({ total: 250, chunks: 3 });
    const all = await ids(h, 'select lead_id as id from public.leads');
    expect(await snapshotOf(h, run.runId)).toEqual(chunksOf(all, 100));
    await expect(h.query('insert into scoring.run_leads (run_id, chunk, lead_ids) values ($1, 0, array[1]::bigint[])', [run.runId]))
      .rejects.toMatchObject({ code: '23505', constraint: 'run_leads_pkey' });
  });

  it('is read back by chunk: a lead deleted from the source after extract is rejected as deleted, and the chunk\'s other leads are scored', async () => {
    h = await makeHarness({ SCOREFLOW_CHUNK_SIZE: '100' }, { worker: false });
    await h.seed(250);
    const activities = createScoringActivities(activityDeps({ config: h.config, pool: h.rt.pool, log: makeLogger('warn'), crm: h.rt.crm }));
    const run = { runId: 'lead-scoring-2026-09-03', pipeline: 'lead-scoring', asOf: '2026-09-03', full: false };
    const extracted = await new MockActivityEnvironment().run(activities.extractLeads, run) as ExtractResult;
    const [chunk1] = (await snapshotOf(h, run.runId)).filter((c) => c.chunk === 1);
    const gone = chunk1!.ids[17]!;
    await h.query('delete from public.leads where lead_id = $1', [gone]);

    await new MockActivityEnvironment().run(activities.scoreChunk, { runId: run.runId, pipeline: run.pipeline, chunk: 1, modelSha256: extracted.modelSha256 });

    expect(await ids(h, `select lead_id as id from scoring.staged_scores where run_id = '${run.runId}' order by lead_id`)).toEqual(chunk1!.ids.filter((id) => id !== gone));
    expect(await h.query('select lead_id::int as lead_id, chunk, reason from scoring.rejected_leads where run_id = $1', [run.runId]))
      .toEqual([{ lead_id: gone, chunk: 1, reason: 'the lead was deleted from the source before it was scored' }]);
  });
});

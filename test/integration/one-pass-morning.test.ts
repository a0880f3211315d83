import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { featureSelect, readChunkLeads } from '../../activities/sql/read-chunk-leads.js';
import { snapshotOneChunkRows, snapshotRunLeads } from '../../activities/sql/snapshot-run-leads.js';
import type { CopyOutStream } from '../../db/copy-out.js';
import type { PoolClient } from '../../db/pool.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { loadModel } from '../../models/load-model.js';
import { parseLeadsTable } from '../../source/leads-table.js';
import { startRun } from '../../workers/run-pipeline.js';
import { makeHarness, waitForQuery, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const table = parseLeadsTable('public.leads');
const CURRENT = 'scoring.lead_scores_rows';

async function bytesOf(rows: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of rows) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Runs `fn` in a transaction that is rolled back, so the snapshots it writes leave nothing behind. */
async function inRolledBackTransaction<T>(h: Harness, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await h.rt.pool.connect();
  try {
    await client.query('begin');
    return await fn(client);
  } finally {
    await client.query('rollback');
    client.release();
  }
}

describe('a morning\'s snapshot and its one chunk from one pass over the source', () => {
  it('streams exactly the bytes the chunk\'s own read streams, and writes the snapshot a separate statement writes', async () => {
    h = await makeHarness({}, { worker: false });
    await h.seed(3000, { seed: 5, messyRate: 0.1 });
    await h.query("update public.leads set updated_at = now() - case when lead_id % 3 = 0 then interval '1 hour' else interval '3 days' end");
    const model = await loadModel(path.join(PROJECT_ROOT, 'models', 'lead-scoring'));
    const since = new Date(Date.now() - 2 * 3_600_000);
    const inputs = model.card.inputs.map((i) => i.name);

    await inRolledBackTransaction(h, async (client) => {
      const { features } = await featureSelect(client, table, model.card.inputs);
      const onePass = await bytesOf(await snapshotOneChunkRows(client, {
        runId: 'one-pass', table, current: CURRENT, chunkSize: 50_000, modelSha256: model.sha256, since, inputs, features,
      }));
      const read = await bytesOf((await readChunkLeads(client, { runId: 'one-pass', chunk: 0, table, inputs: model.card.inputs })).rows);
      expect(read.length).toBeGreaterThan(1000 * 40);
      expect(onePass.equals(read)).toBe(true);
      const written = await client.query('select chunk, cardinality(lead_ids)::int as n from scoring.run_leads where run_id = $1', ['one-pass']);
      expect(written.rows).toEqual([{ chunk: 0, n: 1000 }]);
    });

    // More candidates than a chunk: every chunk of the snapshot written, as snapshotRunLeads writes them, and no rows.
    await inRolledBackTransaction(h, async (client) => {
      const { features } = await featureSelect(client, table, model.card.inputs);
      const rows = await snapshotOneChunkRows(client, {
        runId: 'one-pass', table, current: CURRENT, chunkSize: 300, modelSha256: model.sha256, since, inputs, features,
      });
      await bytesOf(rows);
      expect((rows as CopyOutStream).rowCount).toBe(0);
      await snapshotRunLeads(client, { runId: 'separate', table, current: CURRENT, chunkSize: 300, modelSha256: model.sha256, mode: { kind: 'unscored', since } });
      const chunks = await client.query<{ run_id: string; chunk: number; lead_ids: string[] }>(
        'select run_id, chunk, lead_ids from scoring.run_leads order by run_id, chunk',
      );
      const of = (runId: string) => chunks.rows.filter((r) => r.run_id === runId).map(({ chunk, lead_ids }) => ({ chunk, lead_ids }));
      expect(of('one-pass')).toHaveLength(4);
      expect(of('one-pass')).toEqual(of('separate'));
    });
  });

  it('commits a morning\'s snapshot together with its scored chunk, and scores each lead as a full rescore does', async () => {
    h = await makeHarness({});
    await h.seed(2000, { seed: 8 });
    await h.run('2026-09-01', { crm: false });
    await h.query('update public.leads set updated_at = now(), site_visits_30d = site_visits_30d + 7 where lead_id % 10 = 0');
    // Holds the morning's staging COPY until the test has looked at what other sessions see of the run meanwhile.
    await h.query('create table public.staging_gate (open boolean)');
    await h.query(`create function public.staging_gate() returns trigger language plpgsql as $$
      begin
        while not exists (select 1 from public.staging_gate) loop perform pg_sleep(0.05); end loop;
        return null;
      end $$`);
    await h.query('create trigger staging_gate after insert on scoring.staged_scores for each statement execute function public.staging_gate()');

    const morning = await startRun(h.rt, { asOf: '2026-09-02', full: false, crm: false });
    await waitForQuery(h, `select count(*) = 1 as ok from pg_stat_activity
      where query like 'copy scoring.staged_scores%' and state = 'active' and datname = current_database()`);
    // Scored from the same pass that took the snapshot: nothing of the run is committed before its chunk is.
    expect(await h.query("select count(*)::int as n from scoring.run_leads where run_id = 'lead-scoring-2026-09-02'")).toEqual([{ n: 0 }]);
    await h.query('insert into public.staging_gate values (true)');
    expect(await morning.result()).toMatchObject({ extracted: 200, chunks: 1, scored: 200, published: 200 });
    await h.query('drop trigger staging_gate on scoring.staged_scores');

    await h.run('2026-09-02', { full: true, crm: false });
    const scores = (runId: string) => h!.query(
      'select lead_id, score, bucket, source_updated_at from scoring.lead_score_history where run_id = $1 and lead_id % 10 = 0 order by lead_id', [runId],
    );
    const rescored = await scores('lead-scoring-2026-09-02-full');
    expect(rescored).toHaveLength(200);
    expect(await scores('lead-scoring-2026-09-02')).toEqual(rescored);
  });
});

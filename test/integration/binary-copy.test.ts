import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageLeadChunk } from '../../activities/stage-lead-chunk.js';
import { chunkLeadIds, readChunkLeads } from '../../activities/sql/read-chunk-leads.js';
import { copyOut } from '../../db/copy-out.js';
import { decodeCopyField } from '../../db/copy-text.js';
import { backendPid, type PoolClient } from '../../db/pool.js';
import { SourceSchemaInvalid } from '../../lib/errors.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { bucketFor } from '../../models/card.js';
import { prepareFeatures, type RawLead } from '../../models/features.js';
import { loadModel, type LoadedModel } from '../../models/load-model.js';
import { predict } from '../../models/predict.js';
import { checkLeadsTable, parseLeadsTable, type LeadsTable } from '../../source/leads-table.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness;
let model: LoadedModel;
beforeAll(async () => {
  h = await makeHarness({}, { worker: false });
  model = await loadModel(path.join(PROJECT_ROOT, 'models', 'lead-scoring'));
});
afterAll(async () => {
  await h?.close();
});

const noActivity = { heartbeat() {}, throwIfCancelled() {} };
const features = () => model.card.inputs.map((i) => i.name);

/** A run whose one chunk is every row of `table`. */
async function snapshot(runId: string, table: LeadsTable): Promise<void> {
  await h.query(
    `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_sha256, chunks, extracted_at)
     values ($1, 'lead-scoring', '2026-11-26', 'scoring', 'test', $2, 1, now())`,
    [runId, model.sha256],
  );
  await h.query(`insert into scoring.run_leads (run_id, chunk, lead_ids) select $1, 0, array_agg(${table.columns.key} order by ${table.columns.key}) from ${table.sql}`, [runId]);
}

async function withClient<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await h.rt.pool.connect();
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}

/**
 * What the text path (COPY text out, prepareFeatures, the model, COPY text in) made of the chunk: its
 * staged rows and rejections, times as PostgreSQL prints them.
 */
async function textPath(runId: string, table: LeadsTable) {
  const columns = features().map((c) => `l.${c}`).join(', ');
  const sql = `copy (select r.lead_id, l.${table.columns.key} is not null, l.${table.columns.change}, ${columns}
    from ${chunkLeadIds(runId, 0)} left join ${table.sql} l on l.${table.columns.key} = r.lead_id
    order by r.lead_id) to stdout`;
  const parts: Buffer[] = [];
  await withClient((client) => pipeline(client.query(copyStreams.to(sql)), new Writable({ write(c: Buffer, _, done) { parts.push(c); done(); } })));
  const raw: RawLead[] = Buffer.concat(parts).toString('utf8').split('\n').filter(Boolean).map((line) => {
    const f = line.split('\t');
    return { leadId: f[0]!, present: f[1] === 't', updatedAt: f[2]!, fields: f.slice(3) };
  });
  const { batch, rejected } = prepareFeatures(model.card, raw);
  const scores = await predict(model, batch);
  // COPY text into staging read each change time as a timestamptz.
  const stored = async (times: string[]) => (await h.query<{ v: string | null }>(
    'select t::timestamptz::text as v from unnest($1::text[]) with ordinality as x(t, n) order by n', [times.map(decodeCopyField)],
  )).map((r) => r.v);
  const stagedAt = await stored(batch.updatedAt);
  const rejectedAt = await stored(rejected.map((r) => r.updatedAt));
  return {
    staged: batch.leadIds.map((leadId, r) => ({ lead_id: leadId, source_updated_at: stagedAt[r], score: scores[r]!, bucket: bucketFor(model.card, scores[r]!) })),
    rejected: rejected.map((r, i) => ({ lead_id: r.leadId, source_updated_at: rejectedAt[i], reason: r.reason })),
  };
}

/** What the worker's path staged for the chunk (committed), in the same shape. */
async function binaryPath(runId: string, table: LeadsTable) {
  const before = Date.now();
  const counts = await withClient(async (client) => {
    await client.query('begin');
    const c = await stageLeadChunk(client, { runId, chunk: 0, model, source: table, activity: noActivity, started: Date.now() });
    await client.query('commit');
    return c;
  });
  // The model is not on the rows: the run's audit row names it (migration 017).
  const constant = await h.query<{ rows: number; runs: string; chunks: number; at: Date }>(
    `select count(*)::int as rows, string_agg(distinct run_id, ',') as runs, max(chunk) as chunks,
            max(scored_at) as at, count(distinct scored_at)::int as times
     from scoring.staged_scores where run_id = $1`,
    [runId],
  );
  expect(constant[0]).toMatchObject({ rows: counts.scored, runs: runId, chunks: 0, times: 1 });
  expect(constant[0]!.at.getTime()).toBeGreaterThanOrEqual(before - 1);
  expect(constant[0]!.at.getTime()).toBeLessThanOrEqual(Date.now());
  return {
    staged: await h.query('select lead_id::text, source_updated_at::text, score, bucket from scoring.staged_scores s where run_id = $1 order by s.lead_id', [runId]),
    rejected: await h.query('select lead_id::text, source_updated_at::text, reason from scoring.rejected_leads r where run_id = $1 order by r.lead_id', [runId]),
  };
}

describe('a chunk read and staged through binary COPY', () => {
  it('stages what the text path staged: lead ids, change times to the microsecond, scores, buckets, and every rejection with its reason and time', async () => {
    await h.seed(6_000, { seed: 11, messyRate: 0.1 });
    await h.query(`update public.leads set updated_at = case lead_id % 7
      when 0 then '2026-03-04 05:06:07.891234+00' when 1 then '1999-12-31 23:59:59.999999+00' when 2 then 'infinity'
      when 3 then '-infinity' when 4 then '1970-01-01 00:00:00.000001+00' when 5 then '1492-10-12 12:00:00.5+00'
      else updated_at end`);
    const table = parseLeadsTable('public.leads');
    await snapshot('binary-a', table);
    await h.query('delete from public.leads where lead_id % 500 = 1');
    const text = await textPath('binary-a', table);
    expect(text.staged.length).toBeGreaterThan(5_000);
    expect(text.rejected.map((r) => r.reason)).toContain('the lead was deleted from the source before it was scored');
    expect(new Set(text.rejected.map((r) => r.reason)).size).toBeGreaterThan(5);
    expect(await binaryPath('binary-a', table)).toEqual(text);
  });

  it('reads other column types as the text path read them: timestamp and date change columns, NULL among them, char(n), varchar, numeric and text features, and smallint, integer, bigint and boolean ones in their binary form', async () => {
    const types: Record<string, string> = {
      company_size: 'numeric', industry: 'char(16)', lead_source: 'varchar(20)', seniority: 'text', site_visits_30d: 'smallint',
      email_opens_30d: 'text', email_clicks_30d: 'bigint', days_since_last_activity: 'integer', demo_requested: 'boolean',
    };
    expect(Object.keys(types)).toEqual(features());
    await h.query('create schema partner');
    await h.query(`create table partner.leads (id bigint primary key, modified timestamp, day date, ${features().map((f) => `${f} ${types[f]}`).join(', ')})`);
    await h.query(`insert into partner.leads select lead_id, case when lead_id % 9 = 0 then null else '2026-01-02 03:04:05.678901'::timestamp + lead_id * interval '1 second' end,
        case when lead_id % 11 = 0 then null else date '2025-06-01' + (lead_id % 300)::int end,
        ${features().map((f) => {
          if (f === 'industry') return `case when lead_id % 13 = 0 then 'Aerospace' else ${f} end`;
          return types[f] === 'smallint' ? `least(${f}, 32767)::smallint` : `${f}::${types[f]}`;
        }).join(', ')}
      from public.leads`);
    await h.query("update partner.leads set company_size = company_size + 0.5 where id % 17 = 0");
    for (const change of ['modified', 'day']) {
      const table = parseLeadsTable('partner.leads', { key: 'id', change });
      const runId = `binary-${change}`;
      await snapshot(runId, table);
      const text = await textPath(runId, table);
      expect(text.rejected.map((r) => r.reason)).toContain('industry "Aerospace       " is not one of the card\'s categories');
      expect(text.staged.filter((s) => s.source_updated_at === null).length).toBeGreaterThan(0);
      expect(await binaryPath(runId, table)).toEqual(text);
    }
  });

  it('refuses a change column that is no timestamp or date, at extract and at scoring, naming it', async () => {
    await h.query('create table partner.numbered (id bigint primary key, version integer, ' + features().map((f) => `${f} text`).join(', ') + ')');
    await h.query("insert into partner.numbered (id, version) values (1, 3)");
    const table = parseLeadsTable('partner.numbered', { key: 'id', change: 'version' });
    await expect(checkLeadsTable(h.rt.pool, table, features())).rejects.toThrow(SourceSchemaInvalid);
    await expect(checkLeadsTable(h.rt.pool, table, features())).rejects.toThrow(/change column version of partner\.numbered is integer/);
    await snapshot('binary-numbered', table);
    await expect(withClient((client) => readChunkLeads(client, { runId: 'binary-numbered', chunk: 0, table, inputs: model.card.inputs })))
      .rejects.toThrow(SourceSchemaInvalid);
  });
});

/** Every byte of a COPY … TO STDOUT read through `stream`. */
async function bytesOf(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part as Buffer));
  return Buffer.concat(parts);
}

describe('the COPY-out stream', () => {
  const NOISY = `create function pg_temp.noisy(i int) returns int language plpgsql as $$
    begin if i % 1000 = 0 then raise notice 'row %', i; end if; return i; end $$`;
  const query = (format: string) => `copy (select pg_temp.noisy(i), repeat('x', case when i = 3 then 300000 else i % 50 end), null::text, i::float8 / 3
    from generate_series(1, 5000) i) to stdout (format ${format})`;

  it('gives the bytes pg-copy-streams gives, with rows larger than a socket read and notices among them, and the row count', async () => {
    await withClient(async (client) => {
      await client.query(NOISY);
      for (const format of ['binary', 'text']) {
        const ours = copyOut(query(format));
        const got = await bytesOf(client.query(ours));
        const theirs = await bytesOf(client.query(copyStreams.to(query(format))));
        expect(got.length).toBeGreaterThan(300_000);
        expect(got.equals(theirs)).toBe(true);
        expect(ours.rowCount).toBe(5000);
      }
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    });
  });

  it('leaves the connection usable when its reader stops early: the rest of the COPY is read and dropped', async () => {
    await withClient(async (client) => {
      const copy = client.query(copyOut("copy (select i, repeat('x', 100) from generate_series(1, 300000) i) to stdout (format binary)"));
      let parts = 0;
      // A reader that fails on its first part, as a chunk whose model thread died does.
      await expect((async () => {
        for await (const part of copy) {
          parts += (part as Buffer).length > 0 ? 1 : 0;
          throw new Error('the reader failed');
        }
      })()).rejects.toThrow('the reader failed');
      expect(parts).toBe(1);
      expect((await client.query('select 4 as four')).rows).toEqual([{ four: 4 }]);
    });
  });

  it('fails with the statement\'s error, a cancel\'s included, and leaves the connection usable', async () => {
    await withClient(async (client) => {
      const failing = client.query(copyOut('copy (select 1 / (i - 3000) from generate_series(1, 100000) i) to stdout (format binary)'));
      await expect(bytesOf(failing)).rejects.toMatchObject({ code: '22012' });
      expect((await client.query('select 2 as two')).rows).toEqual([{ two: 2 }]);

      const pid = backendPid(client);
      const long = client.query(copyOut('copy (select i, pg_sleep(case when i % 1000 = 0 then 0.01 else 0 end) from generate_series(1, 10000000) i) to stdout (format binary)'));
      let read = 0;
      const reading = (async () => {
        for await (const part of long) {
          read += (part as Buffer).length;
          if (read > 100_000 && read - (part as Buffer).length <= 100_000) await h.query('select pg_cancel_backend($1)', [pid]);
        }
      })();
      await expect(reading).rejects.toMatchObject({ code: '57014' });
      expect(read).toBeGreaterThan(100_000);
      expect((await client.query('select 3 as three')).rows).toEqual([{ three: 3 }]);
    });
  });
});

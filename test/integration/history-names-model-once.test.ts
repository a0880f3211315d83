import { afterEach, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { withTransaction } from '../../db/pool.js';
import { publishStagedRun } from '../../activities/sql/publish-run.js';
import { readCard } from '../../models/load-model.js';
import { deployModel } from '../../models/model-deploy.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { BUNDLED_MODEL, emptyModelDir, modelVariant } from '../support/model-variant.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const bundled = readCard(BUNDLED_MODEL);

/** The columns a table has now, in order. */
async function columnsOf(h: Harness, table: string): Promise<string[]> {
  const [row] = await h.query<{ c: string[] }>(
    'select array_agg(attname::text order by attnum) as c from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped', [table]);
  return row!.c;
}

describe('history names the model once per run', () => {
  it('keeps no model on staged or history rows, yet lead_score_history names the model of each run, moved or copied into history', async () => {
    const dir = emptyModelDir();
    await deployModel(dir, BUNDLED_MODEL);
    h = await makeHarness({ SCOREFLOW_MODEL_DIR: dir, SCOREFLOW_CHUNK_SIZE: '200' });
    await h.seed(500);
    await h.run('2026-09-01', { crm: false });
    const next = modelVariant('1.1.0');
    await deployModel(dir, next.dir);
    await h.run('2026-09-02', { crm: false });

    const staging = ['run_id', 'lead_id', 'chunk', 'score', 'bucket', 'source_updated_at', 'scored_at'];
    expect(await columnsOf(h, 'scoring.staged_scores')).toEqual(staging);
    expect(await columnsOf(h, 'scoring.lead_score_history_rows')).toEqual(staging);
    const [table] = await h.query<{ name: string }>("select scoring.run_table_name('lead-scoring-2026-09-02') as name");
    expect(await columnsOf(h, `scoring."${table!.name}"`)).toEqual(staging);
    expect(await columnsOf(h, 'scoring.lead_score_history'))
      .toEqual(['run_id', 'lead_id', 'chunk', 'score', 'bucket', 'model_version', 'model_sha256', 'source_updated_at', 'scored_at']);

    // A run staged in staging's default partition (no table of its own) is published by copying its rows.
    const legacy = 'lead-scoring-2026-09-03';
    await h.query(
      `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_name, model_version, model_sha256, chunks, extracted_at)
       values ($1, 'lead-scoring', '2026-09-03', 'scoring', 'test', 'lead-scoring', $2, $3, 1, now())`, [legacy, bundled.version, bundled.sha256]);
    await h.query(
      `insert into scoring.staged_scores (run_id, lead_id, chunk, score, bucket, source_updated_at, scored_at)
       select $1, lead_id, 0, 0.5, 'warm', updated_at, now() from public.leads order by lead_id limit 3`, [legacy]);
    const sinks = { current: 'scoring.lead_scores_rows', history: 'scoring.lead_score_history_rows' };
    await withTransaction(h.rt.pool, (client) => publishStagedRun(client, { runId: legacy, pipeline: 'lead-scoring', sinks, storeStartedAt: Date.now() }));

    expect(await h.query('select run_id, model_version, model_sha256, count(*)::int as n from scoring.lead_score_history group by 1, 2, 3 order by 1')).toEqual([
      { run_id: 'lead-scoring-2026-09-01', model_version: bundled.version, model_sha256: bundled.sha256, n: 500 },
      { run_id: 'lead-scoring-2026-09-02', model_version: '1.1.0', model_sha256: next.sha256, n: 500 },
      { run_id: legacy, model_version: bundled.version, model_sha256: bundled.sha256, n: 3 },
    ]);
    // History's rows and the current table agree on the model that made each published score.
    expect(await h.query(
      `select count(*)::int as n from scoring.lead_scores s join scoring.lead_score_history h using (run_id, lead_id)
       where s.model_version <> h.model_version or s.model_sha256 <> h.model_sha256 or s.score <> h.score`)).toEqual([{ n: 0 }]);
  });

  it('refuses a history sink that is a view, naming the table to write to instead', async () => {
    h = await makeHarness({}, { worker: false });
    const sinks = { current: 'scoring.lead_scores_rows', history: 'scoring.lead_score_history' };
    const err = await withTransaction(h.rt.pool, (client) =>
      publishStagedRun(client, { runId: 'lead-scoring-2026-09-04', pipeline: 'lead-scoring', sinks, storeStartedAt: Date.now() })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'DatabaseSchemaInvalid', nonRetryable: true });
    expect((err as Error).message).toContain('scoring.lead_score_history_rows');
  });
});

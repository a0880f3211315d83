import { afterEach, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { withTransaction } from '../../db/pool.js';
import { publishStagedRun } from '../../activities/sql/publish-run.js';
import { readCard } from '../../models/load-model.js';
import { deployModel } from '../../models/model-deploy.js';
import { startRollback } from '../../workers/rollback.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { BUNDLED_MODEL, emptyModelDir, modelVariant } from '../support/model-variant.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const bundled = readCard(BUNDLED_MODEL);
const VIEW_COLUMNS = ['lead_id', 'score', 'bucket', 'model_name', 'model_version', 'model_sha256', 'run_id', 'source_updated_at', 'scored_at'];
const BY_RUN = 'select run_id, model_name, model_version, model_sha256, count(*)::int as n from scoring.lead_scores group by 1, 2, 3, 4 order by 1';

/** The columns a table or view has now, in order. */
async function columnsOf(h: Harness, table: string): Promise<string[]> {
  const [row] = await h.query<{ c: string[] }>(
    'select array_agg(attname::text order by attnum) as c from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped', [table]);
  return row!.c;
}

/** A harness whose model directory holds the bundled model; the second model, 1.1.0, is deployed by the test. */
async function twoModels(env: Record<string, string> = {}) {
  const dir = emptyModelDir();
  await deployModel(dir, BUNDLED_MODEL);
  const harness = await makeHarness({ SCOREFLOW_MODEL_DIR: dir, ...env });
  return { h: harness, dir, next: modelVariant('1.1.0') };
}

describe('the current-score table names the model once per run', () => {
  it('keeps no model on current rows, yet lead_scores names each lead\'s run\'s model after a full run and after a morning that rescored some leads with another model', async () => {
    const t = await twoModels();
    h = t.h;
    await h.seed(500);
    const first = await h.run('2026-11-02', { crm: false });

    expect(await columnsOf(h, 'scoring.lead_scores_rows')).toEqual(['lead_id', 'score', 'bucket', 'run_id', 'source_updated_at', 'scored_at']);
    expect(await columnsOf(h, 'scoring.lead_scores')).toEqual(VIEW_COLUMNS);
    expect(await h.query(BY_RUN)).toEqual([
      { run_id: first.runId, model_name: bundled.name, model_version: bundled.version, model_sha256: bundled.sha256, n: 500 },
    ]);

    // 100 leads whose current scores were made from a newer version of the lead keep them (and their model) through the next run.
    await h.query("update scoring.lead_scores_rows set source_updated_at = source_updated_at + interval '1 day' where lead_id % 5 = 0");
    await deployModel(t.dir, t.next.dir);
    const second = await h.run('2026-11-03', { crm: false });
    expect(second).toMatchObject({ published: 400, modelVersion: '1.1.0', modelSha256: t.next.sha256 });
    expect(await h.query(BY_RUN)).toEqual([
      { run_id: first.runId, model_name: bundled.name, model_version: bundled.version, model_sha256: bundled.sha256, n: 100 },
      { run_id: second.runId, model_name: bundled.name, model_version: '1.1.0', model_sha256: t.next.sha256, n: 400 },
    ]);
    // The current scores and history agree on the model that made each one.
    expect(await h.query(
      `select count(*)::int as n from scoring.lead_scores s join scoring.lead_score_history h using (run_id, lead_id)
       where s.model_version <> h.model_version or s.model_sha256 <> h.model_sha256 or s.score <> h.score`)).toEqual([{ n: 0 }]);
    // A morning that compares every lead with its current score takes exactly the 100 made by the other model.
    await h.query("update scoring.lead_scores_rows set source_updated_at = source_updated_at - interval '1 day' where lead_id % 5 = 0");
    await h.query("update scoring.watermarks set source_high_water = null where pipeline = 'lead-scoring'");
    expect(await h.run('2026-11-04', { crm: false })).toMatchObject({ extracted: 100, published: 100 });
    expect(await h.query('select model_version, count(*)::int as n from scoring.lead_scores group by 1')).toEqual([{ model_version: '1.1.0', n: 500 }]);
  });

  it('rollback puts back the earlier run\'s scores, which lead_scores names with that run\'s model', async () => {
    const t = await twoModels();
    h = t.h;
    await h.seed(300);
    const first = await h.run('2026-11-09', { crm: false });
    const before = await h.query('select * from scoring.lead_scores order by lead_id');
    await deployModel(t.dir, t.next.dir);
    const second = await h.run('2026-11-10', { crm: false });
    expect(await h.query(BY_RUN)).toEqual([
      { run_id: second.runId, model_name: bundled.name, model_version: '1.1.0', model_sha256: t.next.sha256, n: 300 },
    ]);

    const handle = await startRollback(h.rt, { pipeline: 'lead-scoring', toRun: first.runId, reason: 'the new model' });
    await handle.result();

    expect(await h.query('select * from scoring.lead_scores order by lead_id')).toEqual(before);
    expect(await h.query(BY_RUN)).toEqual([
      { run_id: first.runId, model_name: bundled.name, model_version: bundled.version, model_sha256: bundled.sha256, n: 300 },
    ]);
  });

  it('refuses a current-score sink that is a view, naming the table to write to instead, and one without a key on lead_id', async () => {
    h = await makeHarness({}, { worker: false });
    const publish = (current: string) => withTransaction(h!.rt.pool, (client) => publishStagedRun(client, {
      runId: 'lead-scoring-2026-11-16', pipeline: 'lead-scoring', sinks: { current, history: 'scoring.lead_score_history_rows' }, storeStartedAt: Date.now(),
    })).catch((e: unknown) => e);

    const view = await publish('scoring.lead_scores');
    expect(view).toBeInstanceOf(ApplicationFailure);
    expect(view).toMatchObject({ type: 'DatabaseSchemaInvalid', nonRetryable: true });
    expect((view as Error).message).toContain('scoring.lead_scores_rows');

    await h.query('create table public.unkeyed_scores (like scoring.lead_scores_rows)');
    expect(await publish('public.unkeyed_scores')).toMatchObject({ type: 'DatabaseSchemaInvalid', nonRetryable: true });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { readCard } from '../../models/load-model.js';
import { deployModel } from '../../models/model-deploy.js';
import { startRun } from '../../workers/run-pipeline.js';
import { makeHarness, waitForQuery, type Harness } from '../support/harness.js';
import { BUNDLED_MODEL, emptyModelDir, modelVariant } from '../support/model-variant.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const pinned = readCard(BUNDLED_MODEL);

/**
 * Holds every chunk's transaction right after its scores are staged until the test opens the gate, then
 * slows each a little: chunks stay in flight on the first worker while the test deploys and swaps workers.
 */
async function gateChunks(h: Harness): Promise<() => Promise<void>> {
  await h.query('create table public.chunk_gate (open boolean)');
  await h.query(`create function public.chunk_gate() returns trigger language plpgsql as $$
    begin
      while not exists (select 1 from public.chunk_gate) loop perform pg_sleep(0.05); end loop;
      perform pg_sleep(0.1);
      return null;
    end $$`);
  await h.query('create trigger chunk_gate after insert on scoring.staged_scores for each statement execute function public.chunk_gate()');
  return async () => {
    await h.query('insert into public.chunk_gate values (true)');
  };
}

const CHUNKS_HELD = `select count(*) >= 2 as ok from pg_stat_activity
  where query like 'copy scoring.staged_scores%' and state = 'active' and datname = current_database() and pid <> pg_backend_pid()`;

describe('a run pins the model it was extracted with', () => {
  it('finishes with the pinned model when a worker switches to a new model mid-run, and the next run rescores every lead with the new one', async () => {
    const oldDir = emptyModelDir();
    await deployModel(oldDir, BUNDLED_MODEL);
    const next = modelVariant('1.1.0');
    h = await makeHarness({ SCOREFLOW_MODEL_DIR: oldDir, SCOREFLOW_CHUNK_SIZE: '100', SCOREFLOW_SCORING_CONCURRENCY: '2' }, { worker: false });
    await h.seed(1500);
    const openGate = await gateChunks(h);
    const first = await h.addWorker();

    const handle = await startRun(h.rt, { asOf: '2026-06-01', full: false });
    await waitForQuery(h, CHUNKS_HELD);
    // A rolling deploy: a second worker comes up, its model directory is switched to the new model before
    // it has loaded any, and the first worker (the only one that held the run's model) goes away.
    const switchedDir = emptyModelDir();
    await deployModel(switchedDir, BUNDLED_MODEL);
    await h.addWorker({ modelDir: switchedDir });
    await deployModel(switchedDir, next.dir);
    const stopping = first.stop();
    await openGate();
    await stopping;
    const result = await handle.result();

    expect(result).toMatchObject({ extracted: 1500, published: 1500, modelVersion: pinned.version, modelSha256: pinned.sha256 });
    const byModel = 'select model_version, model_sha256, count(*)::int as n from scoring.lead_scores group by 1, 2';
    expect(await h.query(byModel)).toEqual([{ model_version: pinned.version, model_sha256: pinned.sha256, n: 1500 }]);
    expect(await h.query('select model_version, model_sha256, count(*)::int as n from scoring.lead_score_history group by 1, 2'))
      .toEqual([{ model_version: pinned.version, model_sha256: pinned.sha256, n: 1500 }]);

    const nextDay = await h.run('2026-06-02');

    expect(nextDay).toMatchObject({ extracted: 1500, published: 1500, modelVersion: '1.1.0', modelSha256: next.sha256 });
    expect(await h.query(byModel)).toEqual([{ model_version: '1.1.0', model_sha256: next.sha256, n: 1500 }]);
    // Running the first day again reports the model that day was scored with and publishes nothing over the new scores.
    expect(await h.run('2026-06-01')).toMatchObject({ modelVersion: pinned.version, modelSha256: pinned.sha256 });
    expect(await h.query(byModel)).toEqual([{ model_version: '1.1.0', model_sha256: next.sha256, n: 1500 }]);
    expect(await h.query('select sha256, version from scoring.model_store order by version')).toEqual([
      { sha256: pinned.sha256, version: pinned.version },
      { sha256: next.sha256, version: '1.1.0' },
    ]);
  });
});

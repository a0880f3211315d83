import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { forgetPerson } from '../../activities/sql/forget-person.js';
import { pruneRetention } from '../../activities/sql/prune-retention.js';
import { withTransaction } from '../../db/pool.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { parseLeadsTable } from '../../source/leads-table.js';
import { bucketFor } from '../../models/card.js';
import { deployModel, pointedVersion } from '../../models/model-deploy.js';
import { readModelFiles } from '../../models/model-dir.js';
import { SHOP_TABLES } from '../../pipelines/index.js';
import { seedShop } from '../../source/seed-shop.js';
import { BUNDLED_RECS_MODEL, leadChallenger, recsChallenger } from '../support/challenger-variants.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { BUNDLED_MODEL, emptyModelDir } from '../support/model-variant.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'workers', 'cli.js');
const exec = promisify(execFile);
const DAY1 = '2026-09-01';
const DAY2 = '2026-09-02';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Runs the built CLI against the test's database, with the pipelines' model directories given. */
async function cli(args: string[], dirs: { leads?: string; recs?: string }): Promise<string> {
  const env = {
    PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', DATABASE_URL: h!.config.database.url!, SCOREFLOW_CRM: 'off',
    ...(dirs.leads ? { SCOREFLOW_MODEL_DIR: dirs.leads } : {}), ...(dirs.recs ? { SCOREFLOW_RECS_MODEL_DIR: dirs.recs } : {}),
  };
  return (await exec('node', [CLI, ...args], { env })).stdout;
}

/** Everything a challenger must never write: what analysts read, the watermark, and everything of the CRM. */
async function publishedState(h: Harness) {
  return {
    ...(await h.publishedTables()),
    watermarks: await h.query('select * from scoring.watermarks order by pipeline'),
    crmState: await h.query('select * from scoring.crm_sync_state order by target, pipeline, lead_id'),
    outbox: await h.query('select * from scoring.crm_outbox order by run_id, lead_id'),
  };
}

describe('a challenger model', () => {
  it('scores the run\'s snapshot into shadow tables only: published scores, history, watermark and CRM stay exactly as they were', async () => {
    const root = emptyModelDir();
    await deployModel(root, BUNDLED_MODEL);
    h = await makeHarness({ SCOREFLOW_MODEL_DIR: root });
    await h.seed(1000);
    const first = await h.run(DAY1);
    expect(first).toMatchObject({ chunks: 3, published: 1000, crm: { sent: 1000 } });
    expect(await h.query('select count(*)::int as n from scoring.shadow_runs')).toEqual([{ n: 0 }]);
    const before = await publishedState(h);

    const challenger = leadChallenger();
    await cli(['models', 'challenger', '--from', challenger.dir], { leads: root });
    h.sandbox.resetStats();
    const again = await h.run(DAY1);

    // A published date run again returns its result as it was and sends nothing.
    expect(again).toMatchObject({ published: 1000 });
    expect(await publishedState(h)).toEqual(before);
    expect(h.sandbox.stats().upsertCalls).toBe(0);
    expect(h.sandbox.stats().contactsWritten).toBe(0);
    const shadow = await h.query<{ score: number; bucket: string; model_sha256: string; champion_score: number; champion_bucket: string }>(
      `select s.score, s.bucket, s.model_sha256, c.score as champion_score, c.bucket as champion_bucket
       from scoring.shadow_scores s join scoring.lead_scores c using (lead_id) where s.run_id = $1`,
      [first.runId],
    );
    expect(shadow).toHaveLength(1000);
    for (const s of shadow) {
      expect(s.model_sha256).toBe(challenger.sha256);
      expect(s.score).toBe(s.champion_score);
      expect(s.bucket).toBe(bucketFor({ buckets: challenger.buckets }, s.score));
    }
    expect(shadow.filter((s) => s.bucket !== s.champion_bucket).length).toBeGreaterThan(0);
    expect(await h.query('select model_version, chunks, finished_at is not null as finished from scoring.shadow_runs where run_id = $1', [first.runId]))
      .toEqual([{ model_version: '2.0.0', chunks: 3, finished: true }]);

    const compared = JSON.parse(await cli(['models', 'compare', '--json'], { leads: root })) as {
      runId: string; compared: number; migration: { buckets: string[]; counts: number[][] }; spearman: number; shift: Record<string, number>;
    };
    const pairs = await h.query<{ champion: string; challenger: string; n: number }>(
      `select c.bucket as champion, s.bucket as challenger, count(*)::int as n from scoring.shadow_scores s
       join scoring.lead_score_history c on c.run_id = s.run_id and c.lead_id = s.lead_id group by 1, 2`,
    );
    expect(compared).toMatchObject({ runId: first.runId, compared: 1000, spearman: 1 });
    expect(compared.migration.buckets).toEqual(['hot', 'warm', 'cool', 'cold']);
    for (const p of pairs) expect(compared.migration.counts[compared.migration.buckets.indexOf(p.champion)]![compared.migration.buckets.indexOf(p.challenger)]).toBe(p.n);
    expect(compared.migration.counts.flat().reduce((a, b) => a + b, 0)).toBe(1000);
    expect(compared.shift).toMatchObject({ n: 1000, mean: 0, p5: 0, p50: 0, p95: 0 });

    const [lead] = await h.query<{ email: string }>('select email from public.leads where lead_id = 1');
    const forgotten = await withTransaction(h.rt.pool, (client) => forgetPerson(client, {
      email: lead!.email.trim().toLowerCase(), sources: [{ pipeline: 'lead-scoring', table: parseLeadsTable(h!.config.source.leadsTable) }],
    }));
    expect(forgotten.removed.shadow_scores).toBe(1);
    expect(await h.query('select count(*)::int as n from scoring.shadow_scores where lead_id = 1')).toEqual([{ n: 0 }]);

    // Shadow rows are working rows: they go with the run's other working rows after the retention.
    await h.query("update scoring.pipeline_runs set updated_at = now() - interval '31 days'");
    expect(await pruneRetention(h.rt.pool, 30)).toMatchObject({ shadowRuns: 1 });
    expect(await h.query('select (select count(*)::int from scoring.shadow_scores) as scores, (select count(*)::int from scoring.lead_scores) as published'))
      .toEqual([{ scores: 0, published: 999 }]);
  });

  it('promote makes the challenger the champion in one switch, audited; the next run scores with it and the challenger slot is empty', async () => {
    const root = emptyModelDir();
    await deployModel(root, BUNDLED_MODEL);
    h = await makeHarness({ SCOREFLOW_MODEL_DIR: root });
    await h.seed(500);
    const challenger = leadChallenger();
    await cli(['models', 'challenger', '--from', challenger.dir], { leads: root });
    const first = await h.run(DAY1);
    const champion = readModelFiles(BUNDLED_MODEL).card.sha256;
    expect(first.modelSha256).toBe(champion);

    const promoted = await cli(['models', 'promote'], { leads: root });
    const second = await h.run(DAY2);

    expect(promoted).toContain(`promoted 2.0.0 (${challenger.sha256.slice(0, 12)})`);
    expect(readModelFiles(root).card.sha256).toBe(challenger.sha256);
    expect(pointedVersion(root, 'challenger')).toBeUndefined();
    expect(second).toMatchObject({ modelSha256: challenger.sha256, modelVersion: '2.0.0', extracted: 500 });
    const wrong = await h.query<{ n: number }>(
      `select count(*)::int as n from scoring.lead_scores c join scoring.shadow_scores s using (lead_id)
       where s.run_id = $1 and (c.bucket <> s.bucket or c.model_sha256 <> $2)`,
      [first.runId, challenger.sha256],
    );
    expect(wrong).toEqual([{ n: 0 }]);
    expect(await h.query('select count(*)::int as n from scoring.shadow_runs where run_id = $1', [second.runId])).toEqual([{ n: 0 }]);
    expect(await h.query('select action, model_version, model_sha256, previous_sha256, actor like \'scoreflow-cli:%\' as by_cli from scoring.model_changes order by id')).toEqual([
      { action: 'challenger', model_version: '2.0.0', model_sha256: challenger.sha256, previous_sha256: null, by_cli: true },
      { action: 'promote', model_version: '2.0.0', model_sha256: challenger.sha256, previous_sha256: champion, by_cli: true },
    ]);
  });

  it('on product-recs, writes shadow recommendations only; the view and the versioned table keep the champion\'s', async () => {
    const root = emptyModelDir();
    await deployModel(root, BUNDLED_RECS_MODEL, 'top-k');
    h = await makeHarness({ SCOREFLOW_RECS_MODEL_DIR: root, SCOREFLOW_RECS_CHUNK_SIZE: '100' });
    await seedShop(h.rt.pool, SHOP_TABLES, { customers: 300, products: 200 });
    const challenger = recsChallenger();
    await cli(['models', 'challenger', '--pipeline', 'product-recs', '--from', challenger.dir], { recs: root });

    const run = await h.run(DAY1, { pipeline: 'product-recs' });

    const champion = (JSON.parse(fs.readFileSync(path.join(BUNDLED_RECS_MODEL, 'model-card.json'), 'utf8')) as { sha256: string }).sha256;
    expect(await h.query('select model_sha256, count(*)::int as n from recs.customer_recommendations group by 1')).toEqual([{ model_sha256: champion, n: expect.any(Number) }]);
    expect(await h.query('select distinct model_sha256 from recs.current_recommendations')).toEqual([{ model_sha256: champion }]);
    const differ = await h.query<{ champion: number; shadow: number; differ: number }>(
      `select (select count(*)::int from recs.customer_recommendations where run_id = $1) as champion,
              (select count(*)::int from recs.shadow_recommendations where run_id = $1 and model_sha256 = $2) as shadow,
              (select count(*)::int from (select customer_id, rank, product_id from recs.shadow_recommendations where run_id = $1
                                          except select customer_id, rank, product_id from recs.customer_recommendations where run_id = $1) d) as differ`,
      [run.runId, challenger.sha256],
    );
    expect(differ[0]!.shadow).toBe(differ[0]!.champion);
    expect(differ[0]!.differ).toBe(0);
    expect(await h.query('select count(*)::int as n from scoring.staged_scores')).toEqual([{ n: 0 }]);

    const compared = JSON.parse(await cli(['models', 'compare', '--pipeline', 'product-recs', '--json'], { recs: root })) as {
      compared: number; overlapAtK: number; catalogue: number; coverage: { champion: { distinct: number }; challenger: { distinct: number } };
    };
    expect(compared).toMatchObject({ compared: 300, overlapAtK: 1 });
    expect(compared.coverage.challenger.distinct).toBe(compared.coverage.champion.distinct);
    expect(compared.catalogue).toBeGreaterThan(0);
  });
});

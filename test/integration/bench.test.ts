import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { freePort, withFreePorts } from '../support/free-port.js';

const run = promisify(execFile);
let home: string | undefined;
afterEach(() => {
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

/**
 * `npm run bench` with `args` and `env`, its state under `home` and its servers on free ports. It is started
 * again on other ports only if a port found free was taken before its server bound it (by a test running
 * beside this one, or by the Temporal dev server's own random internal ports); any other failure is the test's.
 */
function runBench(args: string[], env: Record<string, string>, timeout: number) {
  return withFreePorts(4, ([pg, temporal, ui, sandbox]) => run('node', [path.join(PROJECT_ROOT, 'dist', 'bench', 'run.js'), ...args], {
    env: {
      PATH: process.env['PATH'], HOME: process.env['HOME'], SCOREFLOW_BENCH_HOME: path.join(home!, 'state'),
      SCOREFLOW_BENCH_PG_PORT: String(pg), SCOREFLOW_BENCH_TEMPORAL_PORT: String(temporal),
      SCOREFLOW_BENCH_TEMPORAL_UI_PORT: String(ui), SCOREFLOW_BENCH_SANDBOX_PORT: String(sandbox), ...env,
    },
    timeout,
  }), 3, (err) => /address already in use/i.test(String((err as { stderr?: string }).stderr ?? err)));
}

describe('npm run bench', () => {
  it('runs every measurement end to end on a small input, prints each figure beside its target and writes them as JSON', async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-bench-'));
    fs.chmodSync(home, 0o755);
    const out = path.join(home, 'results');
    const { stdout } = await runBench(['--leads', '3000', '--small', '1000', '--sample', '50', '--recs-customers', '2000', '--out', out],
      { SCOREFLOW_CHUNK_SIZE: '500', SCOREFLOW_RECS_CHUNK_SIZE: '500' }, 240_000);

    for (const measure of ['COPY out features, 3,000 leads', 'upsert into a keyed table', 'one lead at a time, 50 leads', 'batch-score',
      'whole run, 3,000 leads', 'onnxruntime inference alone', 'worker peak RSS, 1,000 leads', 'events, 3,000 leads',
      'seconds after the full run', 'share of the full run, after a checkpoint', '1,000 contacts, 2 workers', '429 responses',
      'model, 10,000 items', 'onnxruntime alone, 2,000 customers', 'COPY in 10,000 result rows', 'inference + COPY in', 'whole run, 2,000 customers',
      'worker peak RSS, 2,000 customers', 'history events, 2,000 customers']) {
      expect(stdout).toContain(measure);
    }
    const results = JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8'));
    expect(results.runs.full.report).toMatchObject({ status: 'published', leads_extracted: 3000, leads_published: 3000 });
    expect(results.runs.incremental.report).toMatchObject({ leads_extracted: 30 });
    expect(results.runs.morning.report).toMatchObject({ status: 'published', leads_extracted: 30 });
    expect(results.runs.crm.report).toMatchObject({ crm_status: 'synced', crm_sent: 1000, crm_failed: 0 });
    expect(results.naive.rows).toBe(50);
    expect(results.baselines.copyOut.rows).toBe(3000);
    expect(results.runs.full.historyEvents).toBeGreaterThan(6 * 3);
    expect(results.memory.peakRssMiBFull).toBeGreaterThan(50);
    // The shipped model's item index has 5,000 products: the bench trains a 10,000-item one on its shop (or reuses it from the cache).
    expect(results.recs).toMatchObject({ customers: 2000, productsRequested: 10000, products: 10000, modelItems: 10000 });
    expect(['trained', 'cached']).toContain(results.recs.model.source);
    expect(results.recs.model.dir).toContain(path.join('scoreflow', 'bench-models'));
    expect(results.recs.inference.rows).toBe(2000);
    expect(results.recs.copyIn.rows).toBe(10000);
    expect(results.recs.run.report).toMatchObject({ status: 'published', leads_extracted: 2000 });
    expect(results.recs.run.historyEvents).toBeGreaterThan(4);
    expect(results.recs.rss).toBeGreaterThan(50);
    expect(results.recs.baselineMs).toBeGreaterThan(0);
    // Ten targets of the lead-scoring section, three of the recommender's.
    expect(results.figures.filter((f: { met?: boolean }) => f.met !== undefined)).toHaveLength(13);
    expect(results.figures.map((f: { what: string }) => f.what)).toEqual(expect.arrayContaining(['batch-score as share of onnxruntime alone', 'naive pipeline ÷ whole run']));
  });
});

describe('npm run bench -- --large', () => {
  it('runs lead scoring again at the larger size in a database of its own, prints each stage at both sizes with its growth per row, and writes time, RSS, disk and CRM planning as JSON', async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-bench-large-'));
    fs.chmodSync(home, 0o755);
    const out = path.join(home, 'results');
    const { stdout, stderr } = await runBench(['--leads', '3000', '--small', '1000', '--sample', '50', '--no-recs', '--large', '6000', '--out', out],
      { SCOREFLOW_CHUNK_SIZE: '500' }, 170_000);

    for (const measure of ['seed 6,000 leads', 'extract, 3,000 → 6,000 leads', 'batch-score', 'store', 'whole run (start to result)',
      '6,000 leads: extracted / published', 'CRM planning (planOutbox), 3,000 → 6,000 outbox rows', 'worker peak RSS, 3,000 → 6,000 leads',
      'history events', 'disk: scoring schema after the run', 'disk: CRM outbox, planned', 'disk: leads table (source)', 'disk: the 6,000-lead database after the plan']) {
      expect(stdout).toContain(measure);
    }
    expect(stdout).toMatch(/per row ≤ 1\.25× linear: \d+\.\d\d×/);
    expect(stderr).toContain('dropped database bench_large');

    const results = JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8'));
    const { base, large, growth } = results.large;
    expect(base.leads).toBe(3000);
    expect(base.run.runId).toBe(results.runs.full.runId);
    expect(large.leads).toBe(6000);
    expect(large.run.report).toMatchObject({ status: 'published', leads_extracted: 6000, leads_published: 6000 });
    expect(large.seedMs).toBeGreaterThan(0);
    // Twelve chunks of 500 against six: more events, and the worker's RSS read from /proc.
    expect(large.run.historyEvents).toBeGreaterThan(base.run.historyEvents);
    expect(large.rss).toBeGreaterThan(50);
    // One outbox row per published score, as the CRM stage would plan for a target that has accepted nothing.
    expect(base.plan.plan).toMatchObject({ contacts: 3000, skipped: 0, deferred: 0 });
    expect(large.plan.plan).toMatchObject({ contacts: 6000, skipped: 0, deferred: 0 });
    for (const p of [base, large]) {
      expect(p.disk.scoringBytes).toBe(Object.values(p.disk.tables as Record<string, number>).reduce((a, b) => a + b, 0));
      expect(Object.keys(p.disk.tables).length).toBeGreaterThan(0);
      expect(p.disk.sourceBytes).toBeGreaterThan(0);
      expect(p.outboxBytes).toBeGreaterThan(0);
    }
    expect(large.disk.sourceBytes).toBeGreaterThan(base.disk.sourceBytes);
    expect(large.disk.scoringBytes).toBeGreaterThan(base.disk.scoringBytes);
    expect(large.databaseBytes).toBeGreaterThan(large.disk.scoringBytes + large.disk.sourceBytes);
    expect(Object.keys(growth).sort()).toEqual(['crmPlan', 'extract', 'score', 'store', 'wholeRun']);
    for (const g of Object.values(growth) as Array<{ baseMs: number; largeMs: number; growth: number }>) {
      expect(g.baseMs).toBeGreaterThan(0);
      expect(g.largeMs).toBeGreaterThan(0);
      expect(g.growth).toBeCloseTo((g.largeMs / 6000) / (g.baseMs / 3000), 10);
    }
    // Ten targets of the lead-scoring section, none of the skipped recommender's, five growth targets.
    expect(results.figures.filter((f: { met?: boolean }) => f.met !== undefined)).toHaveLength(15);
  });
});

describe('npm run bench:serve', () => {
  it('loads scoreflow serve on a small shop, prints each figure beside its goal, writes them as JSON, and reuses the shop the next time', async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-bench-serve-'));
    fs.chmodSync(home, 0o755);
    const out = path.join(home, 'results');
    const [pg, temporal, ui, sandbox, serve] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    const env = {
      PATH: process.env['PATH'], HOME: process.env['HOME'], SCOREFLOW_BENCH_HOME: path.join(home, 'state'),
      SCOREFLOW_BENCH_PG_PORT: String(pg), SCOREFLOW_BENCH_TEMPORAL_PORT: String(temporal),
      SCOREFLOW_BENCH_TEMPORAL_UI_PORT: String(ui), SCOREFLOW_BENCH_SANDBOX_PORT: String(sandbox), SCOREFLOW_RECS_CHUNK_SIZE: '500',
    };
    const bench = (...args: string[]) => run('node', [path.join(PROJECT_ROOT, 'dist', 'bench', 'serve.js'), '--customers', '2000', '--live', '50',
      '--duration', '1', '--after', '1', '--sweep', '2', '--port', String(serve), '--out', out, ...args], { env, timeout: 170_000 });

    const { stdout } = await bench();
    for (const measure of ['cache hits, 1,000 req/s, 10 conn.: p99', 'cache hits, saturation, 32 conn.', '2 conn.: p99 (autocannon\'s own', 'cache hits at a fixed rate: 95% of each second',
      'mix 45% warm/45% cold/10% live, 1,000 req/s: p99', 'mix, cold customers', 'mix, live customers', 'mix across publish',
      'answers from the new run after its workflow returned', 'paced 1,000 req/s: cache hits p99', 'paced 1,000 req/s: mix p99', 'service RSS after start / peak']) {
      expect(stdout).toContain(measure);
    }
    const first = JSON.parse(fs.readFileSync(path.join(out, 'serve-latest.json'), 'utf8'));
    expect(first.data).toMatchObject({ reused: false, run: { runId: 'product-recs-2026-11-24', published: 2000 } });
    expect(first.sources).toEqual({ warm: { batch: first.warm }, live: { live: 20 }, popular: { popular: expect.any(Number) } });
    for (const load of [first.hits, first.saturation, first.mix, first.pacedHits, first.pacedMix, first.publish]) {
      expect(load.requests).toBeGreaterThan(0);
      expect(load.errors).toBe(0);
      expect(load.latency.p99).toBeGreaterThan(0);
    }
    expect(Object.keys(first.mix.byKind).sort()).toEqual(['cold', 'live', 'warm']);
    expect(first.mix.byKind.live.sources).toEqual({ live: first.mix.byKind.live.requests });
    expect(first.publish).toMatchObject({ runId: 'product-recs-2026-11-25', status: 'published', switchedAtMs: expect.any(Number) });
    expect(first.publish.afterSwitch.requests).toBeGreaterThan(0);
    expect(first.rss.peak).toBeGreaterThan(50);
    expect(first.figures.filter((f: { met?: boolean }) => f.met !== undefined)).toHaveLength(12);

    const { stderr } = await bench();
    expect(stderr).toContain('reusing the shop of 2,000 customers × 5,000 products and run product-recs-2026-11-25');
    const second = JSON.parse(fs.readFileSync(path.join(out, 'serve-latest.json'), 'utf8'));
    expect(second.data).toMatchObject({ reused: true, run: { runId: 'product-recs-2026-11-25' } });
    expect(second.publish).toMatchObject({ runId: 'product-recs-2026-11-26', errors: 0, status: 'published' });
    expect(second.sources.live).toEqual({ live: 20 });
  });
});

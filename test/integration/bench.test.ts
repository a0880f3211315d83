import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { freePort } from '../support/free-port.js';

const run = promisify(execFile);
let home: string | undefined;
afterEach(() => {
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

describe('npm run bench', () => {
  it('runs every measurement end to end on a small input, prints each figure beside its target and writes them as JSON', async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-bench-'));
    fs.chmodSync(home, 0o755);
    const out = path.join(home, 'results');
    const [pg, temporal, ui, sandbox] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const { stdout } = await run('node', [path.join(PROJECT_ROOT, 'dist', 'bench', 'run.js'), '--leads', '3000', '--small', '1000', '--sample', '50', '--recs-customers', '2000', '--out', out], {
      env: {
        PATH: process.env['PATH'], HOME: process.env['HOME'], SCOREFLOW_BENCH_HOME: path.join(home, 'state'),
        SCOREFLOW_BENCH_PG_PORT: String(pg), SCOREFLOW_BENCH_TEMPORAL_PORT: String(temporal),
        SCOREFLOW_BENCH_TEMPORAL_UI_PORT: String(ui), SCOREFLOW_BENCH_SANDBOX_PORT: String(sandbox),
        SCOREFLOW_CHUNK_SIZE: '500', SCOREFLOW_RECS_CHUNK_SIZE: '500',
      },
      timeout: 240_000,
    });

    for (const measure of ['COPY out features, 3,000 leads', 'upsert into a keyed table', 'one lead at a time, 50 leads', 'batch-score',
      'whole run, 3,000 leads', 'onnxruntime inference alone', 'worker peak RSS, 1,000 leads', 'events, 3,000 leads',
      'share of the full run', '1,000 contacts, 2 workers', '429 responses',
      'model, 10,000 items', 'onnxruntime alone, 2,000 customers', 'COPY in 10,000 result rows', 'inference + COPY in', 'whole run, 2,000 customers',
      'worker peak RSS, 2,000 customers', 'history events, 2,000 customers']) {
      expect(stdout).toContain(measure);
    }
    const results = JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8'));
    expect(results.runs.full.report).toMatchObject({ status: 'published', leads_extracted: 3000, leads_published: 3000 });
    expect(results.runs.incremental.report).toMatchObject({ leads_extracted: 30 });
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
    expect(results.figures.filter((f: { met?: boolean }) => f.met !== undefined)).toHaveLength(11);
  });
});

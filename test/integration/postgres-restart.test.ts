import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeLogger } from '../../lib/logger.js';
import { startEmbeddedPostgres, type LocalPostgres } from '../../services/embedded-postgres.js';
import { startRun } from '../../workers/run-pipeline.js';
import { freePort } from '../support/free-port.js';
import { makeHarness, waitForQuery, type Harness } from '../support/harness.js';

const harnesses: Harness[] = [];
let postgres: LocalPostgres | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
  await postgres?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

const scores = (h: Harness) => h.query('select lead_id, score, bucket, run_id from scoring.lead_scores order by lead_id');
const history = (h: Harness) => h.query('select run_id, lead_id, score, bucket from scoring.lead_score_history order by lead_id');

describe('PostgreSQL restarted while chunks are being scored', () => {
  it('costs retries, not scores: the run ends with the same tables as a fault-free run', async () => {
    const env = { SCOREFLOW_CHUNK_SIZE: '500' };
    const reference = await makeHarness(env);
    harnesses.push(reference);
    await reference.seed(8000, { seed: 5 });
    await reference.run('2026-10-07');

    // This test's own PostgreSQL, so stopping it disturbs no other test.
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-pg-restart-'));
    fs.chmodSync(dataDir, 0o755);
    const port = await freePort();
    const log = makeLogger('silent');
    const start = () => startEmbeddedPostgres({ dataDir: path.join(dataDir!, 'pg'), port, database: 'postgres', log });
    postgres = await start();
    const h = await makeHarness(env, { adminDatabaseUrl: postgres.url });
    harnesses.push(h);
    await h.seed(8000, { seed: 5 });

    const handle = await startRun(h.rt, { asOf: '2026-10-07', full: false });
    await waitForQuery(h, 'select count(*) >= 2 as ok from scoring.run_chunks');
    await postgres.stop();
    await new Promise((r) => setTimeout(r, 2000));
    postgres = await start();
    const result = await handle.result();

    expect(result).toMatchObject({ extracted: 8000, published: 8000 });
    expect(await scores(h)).toEqual(await scores(reference));
    expect(await history(h)).toEqual(await history(reference));
    const attempts = await h.rt.temporal!.client.workflow.getHandle('lead-scoring-2026-10-07').fetchHistory();
    const retried = (attempts.events ?? []).some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    expect(retried).toBe(true);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { makeLogger } from '../../lib/logger.js';
import { startDevServer, type DevServer } from '../../services/temporal-dev-server.js';
import { startRun } from '../../workers/run-pipeline.js';
import { withFreePorts } from '../support/free-port.js';
import { makeHarness, waitForQuery, type Harness } from '../support/harness.js';

const harnesses: Harness[] = [];
let server: DevServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the Temporal dev server stopped and started again mid-run', () => {
  it('resumes the run from its persisted history and ends with the fault-free tables', async () => {
    const env = { SCOREFLOW_CHUNK_SIZE: '500' };
    const reference = await makeHarness(env);
    harnesses.push(reference);
    await reference.seed(8000, { seed: 6 });
    await reference.run('2026-10-08');

    // This test's own dev server, its state in a SQLite file, so a restart keeps the history.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-temporal-restart-'));
    let ports: number[] = [];
    const start = () => startDevServer({
      cliPath: inject('temporalCliPath'), port: ports[0]!, uiPort: ports[1]!, namespace: 'default', dbFile: path.join(dir!, 'temporal.sqlite'), log: makeLogger('silent'),
    });
    server = await withFreePorts(2, async (p) => {
      ports = p;
      return start();
    });
    const h = await makeHarness({ ...env, TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default' });
    harnesses.push(h);
    await h.seed(8000, { seed: 6 });

    const handle = await startRun(h.rt, { asOf: '2026-10-08', full: false });
    await waitForQuery(h, 'select count(*) >= 2 as ok from scoring.run_chunks');
    await server.stop();
    await new Promise((r) => setTimeout(r, 2000));
    server = await start();
    const result = await handle.result();

    expect(result).toMatchObject({ extracted: 8000, published: 8000 });
    const scores = (x: Harness) => x.query('select lead_id, score, bucket, run_id from scoring.lead_scores order by lead_id');
    expect(await scores(h)).toEqual(await scores(reference));
    expect(await h.query('select count(*)::int as n from scoring.lead_score_history')).toEqual([{ n: 8000 }]);
  });
});

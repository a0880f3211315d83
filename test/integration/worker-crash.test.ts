import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { SANDBOX_TOKEN } from '../../sandbox/server.js';
import { startRun } from '../../workers/run-pipeline.js';
import { makeHarness, waitForQuery, type Harness } from '../support/harness.js';
import { SLEEPING, sleepOnceAfter } from '../support/pause-once.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'workers', 'cli.js');
const harnesses: Harness[] = [];
const workers: ChildProcess[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) w.kill('SIGKILL');
  for (const h of harnesses.splice(0)) await h.close();
});

/** `scoreflow worker` as its own process on the harness's task queue, database and sandbox. */
function startWorkerProcess(h: Harness): ChildProcess {
  const child = spawn('node', [CLI, 'worker'], {
    env: {
      PATH: process.env['PATH'], HOME: process.env['HOME'], LOG_LEVEL: 'warn',
      DATABASE_URL: h.config.database.url, TEMPORAL_ADDRESS: h.rt.temporal!.address, TEMPORAL_NAMESPACE: h.config.temporal.namespace,
      SCOREFLOW_TASK_QUEUE: h.config.temporal.taskQueue, SCOREFLOW_CHUNK_SIZE: String(h.config.scoring.chunkSize),
      HUBSPOT_BASE_URL: h.sandbox.url, HUBSPOT_ACCESS_TOKEN: SANDBOX_TOKEN, SCOREFLOW_CRM_SYNC_MODE: h.config.crm.syncMode,
    },
    stdio: 'ignore',
  });
  workers.push(child);
  return child;
}

/** What users check, without timestamps: scores, history and CRM contacts. */
async function outcome(h: Harness) {
  return {
    scores: await h.query('select lead_id, score, bucket, model_sha256, run_id from scoring.lead_scores order by lead_id'),
    history: await h.query('select run_id, lead_id, score, bucket from scoring.lead_score_history order by run_id, lead_id'),
    crm: await h.query('select lead_id, email, score, bucket from scoring.crm_sync_state order by lead_id'),
  };
}

/**
 * Makes the worker's transaction stop once, for a minute, right after `event` on `table`, so that the
 * test can kill it at exactly that point. The sequence is outside any transaction, so the retry does
 * not stop again; `client_connection_check_interval` lets PostgreSQL notice the dead worker and roll
 * back at once instead of after the sleep.
 */
async function pauseOnceAfter(h: Harness, event: 'insert' | 'delete', table: string): Promise<void> {
  await sleepOnceAfter(h, { event, table, seconds: 60 });
  await h.query(`alter database "${(await h.query<{ db: string }>('select current_database() as db'))[0]!.db}" set client_connection_check_interval = '100ms'`);
}


async function faultFree(leads: number, env: Record<string, string>) {
  const h = await makeHarness(env);
  harnesses.push(h);
  await h.seed(leads, { seed: 99 });
  await h.run('2026-10-05');
  return outcome(h);
}

describe('a worker killed with SIGKILL', () => {
  it.each([
    ['during extract, inside its snapshot transaction', SLEEPING, {}, ['insert', 'scoring.run_leads']],
    ['in the middle of scoring chunks', 'select count(*) between 2 and 10 as ok from scoring.run_chunks', {}],
    ['just before the store transaction commits', SLEEPING, {}, ['delete', 'scoring.staged_scores']],
    ['just after the store transaction commits', "select bool_or(status = 'published') as ok from scoring.pipeline_runs", { latencyMs: 40 }],
    ['in the middle of the CRM sync', 'select count(*) >= 3 as ok from scoring.crm_batches', { latencyMs: 40 }],
  ] as const)('%s: a new worker finishes the run with the same tables and contacts as a fault-free run', async (_when, killWhen, faults, pauseAfter?: readonly ['insert' | 'delete', string]) => {
    const env = { SCOREFLOW_CHUNK_SIZE: '500', SCOREFLOW_SCORING_CONCURRENCY: '2' };
    const expected = await faultFree(8000, env);

    const h = await makeHarness(env, { worker: false });
    harnesses.push(h);
    await h.seed(8000, { seed: 99 });
    h.sandbox.setFaults(faults);
    if (pauseAfter) await pauseOnceAfter(h, ...pauseAfter);
    const first = startWorkerProcess(h);
    const handle = await startRun(h.rt, { asOf: '2026-10-05', full: false });
    await waitForQuery(h, killWhen);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    startWorkerProcess(h);
    const result = await handle.result();

    expect(result).toMatchObject({ extracted: 8000, published: 8000, crm: { failed: 0 } });
    expect(await outcome(h)).toEqual(expected);
    const contacts = (await h.query<{ n: number }>('select count(*)::int as n from hubspot_sandbox.contacts'))[0]!.n;
    expect(contacts).toBe(8000);
  });
});

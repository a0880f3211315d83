import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { SANDBOX_TOKEN } from '../../sandbox/server.js';
import { startRun } from '../../workers/run-pipeline.js';
import { makeHarness, waitForQuery, type Harness } from '../support/harness.js';
import { SLEEPING, sleepOnceAfter } from '../support/pause-once.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'workers', 'cli.js');
const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

async function harness(leads: number, env: Record<string, string> = {}): Promise<Harness> {
  const h = await makeHarness({ SCOREFLOW_CHUNK_SIZE: '400', SCOREFLOW_SCORING_CONCURRENCY: '2', ...env });
  harnesses.push(h);
  await h.seed(leads, { seed: 5 });
  return h;
}

/** A statement on run_chunks that sleeps an hour, once: the chunk is stuck mid-transaction until cancelled. */
async function stickFirstChunk(h: Harness): Promise<void> {
  await sleepOnceAfter(h, { event: 'insert', table: 'scoring.run_chunks', seconds: 3600 });
}

const stuck = async (h: Harness) => (await h.query<{ ok: boolean }>(SLEEPING))[0]!.ok;

/** The run's activities from its Temporal history: which were scheduled (with their input), when, and whether each had closed. */
async function activities(handle: WorkflowHandle) {
  const events = (await handle.fetchHistory()).events ?? [];
  const cancelRequestedAt = events.findIndex((e) => e.workflowExecutionCancelRequestedEventAttributes);
  const closed = new Set(
    events.flatMap((e) => {
      const a = e.activityTaskCompletedEventAttributes ?? e.activityTaskCanceledEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
      return a ? [String(a.scheduledEventId)] : [];
    }),
  );
  const failedAt = events.findIndex((e) => e.activityTaskFailedEventAttributes);
  const scheduled = events.flatMap((e, at) => {
    const a = e.activityTaskScheduledEventAttributes;
    if (!a) return [];
    const input = defaultPayloadConverter.fromPayload<{ chunk?: number; partition?: number }>(a.input!.payloads![0]!);
    return [{ at, type: a.activityType!.name!, input, closed: closed.has(String(e.eventId)) }];
  });
  return { scheduled, cancelRequestedAt, failedAt };
}

async function runRow(h: Harness, runId: string) {
  const [row] = await h.query<{ status: string; crm_status: string | null; cancelled_by: string | null; cancel_reason: string | null; error_type: string | null }>(
    'select status, crm_status, cancelled_by, cancel_reason, cancelled_at is not null as cancelled, error_type from scoring.pipeline_runs where run_id = $1',
    [runId],
  );
  return row!;
}

const count = async (h: Harness, sql: string) => (await h.query<{ n: number }>(`select count(*)::int as n from ${sql}`))[0]!.n;

async function expectCancelled(handle: WorkflowHandle): Promise<void> {
  const err = await handle.result().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  expect((await handle.describe()).status.name).toBe('CANCELLED');
}

describe('cancelling a run', () => {
  it('mid-scoring stops the chunks, schedules none after the cancel, publishes nothing and records who cancelled; a rerun then publishes every lead once', async () => {
    const h = await harness(4000);
    await stickFirstChunk(h);
    const handle = await startRun(h.rt, { asOf: '2027-03-01', full: false });
    await waitForQuery(h, SLEEPING);

    await handle.cancel(); // what the Web UI sends: a plain cancel request
    await expectCancelled(handle);

    const { scheduled, cancelRequestedAt } = await activities(handle);
    const chunks = scheduled.filter((a) => a.type === 'scoreChunk');
    expect(chunks.filter((a) => a.at > cancelRequestedAt)).toEqual([]);
    expect(chunks.filter((a) => !a.closed)).toEqual([]);
    expect(await stuck(h)).toBe(false);
    expect(await runRow(h, 'lead-scoring-2027-03-01')).toMatchObject({ status: 'cancelled', cancelled: true, cancelled_by: h.rt.temporal!.client.options.identity });
    expect(await count(h, 'scoring.lead_scores')).toBe(0);
    expect(await count(h, 'scoring.lead_score_history')).toBe(0);
    // The stuck chunk's transaction rolled back: nothing is staged for a chunk that is not marked scored.
    expect(await count(h, 'scoring.staged_scores s where not exists (select 1 from scoring.run_chunks c where c.run_id = s.run_id and c.chunk = s.chunk)')).toBe(0);

    const rerun = await h.run('2027-03-01', { crm: false });
    expect(rerun).toMatchObject({ extracted: 4000, published: 4000 });
    expect(await count(h, 'scoring.lead_scores')).toBe(4000);
    expect(await count(h, "(select lead_id from scoring.lead_score_history where run_id = 'lead-scoring-2027-03-01' group by lead_id having count(*) = 1) once")).toBe(4000);
    expect(await runRow(h, 'lead-scoring-2027-03-01')).toMatchObject({ status: 'published', cancelled: false, cancelled_by: null });
  });

  it('with `scoreflow cancel --reason` records the reason and the CLI user, and prints the final status', async () => {
    const h = await harness(2000);
    await stickFirstChunk(h);
    const handle = await startRun(h.rt, { asOf: '2027-03-02', full: false });
    await waitForQuery(h, SLEEPING);

    const env = {
      PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', LOG_LEVEL: 'warn',
      DATABASE_URL: h.config.database.url!, TEMPORAL_ADDRESS: h.rt.temporal!.address, TEMPORAL_NAMESPACE: h.config.temporal.namespace, SCOREFLOW_TASK_QUEUE: h.config.temporal.taskQueue,
      HUBSPOT_BASE_URL: h.sandbox.url, HUBSPOT_ACCESS_TOKEN: SANDBOX_TOKEN,
    };
    const { stdout } = await promisify(execFile)('node', [CLI, 'cancel', '--as-of', '2027-03-02', '--reason', 'wrong leads table', '--no-worker'], { env, timeout: 120_000 });
    await expectCancelled(handle);

    const identity = `scoreflow-cli:${os.userInfo().username}@${os.hostname()}`;
    expect(stdout.trim()).toBe(`Run lead-scoring-2027-03-02: CANCELLED (cancelled by ${identity}: wrong leads table)`);
    expect(await runRow(h, 'lead-scoring-2027-03-02')).toMatchObject({ status: 'cancelled', cancelled_by: identity, cancel_reason: 'wrong leads table' });
    const status = await promisify(execFile)('node', [CLI, 'status'], { env, timeout: 120_000 });
    expect(status.stdout).toContain(`lead-scoring-2027-03-02: cancelled by ${identity}: wrong leads table`);
  });

  it('during the CRM sync keeps the run published, marks the CRM stage cancelled and stops every partition; a rerun sends the rest', async () => {
    const h = await harness(3000);
    h.sandbox.setFaults({ latencyMs: 300 });
    const handle = await startRun(h.rt, { asOf: '2027-03-03', full: false });
    await waitForQuery(h, 'select count(*) >= 2 as ok from scoring.crm_batches');

    await handle.cancel();
    await expectCancelled(handle);

    const { scheduled, cancelRequestedAt } = await activities(handle);
    const partitions = scheduled.filter((a) => a.type === 'syncCrmPartition');
    expect(partitions.length).toBeGreaterThan(1);
    expect(partitions.filter((a) => !a.closed)).toEqual([]);
    expect(scheduled.filter((a) => a.at > cancelRequestedAt).map((a) => a.type)).toEqual(['recordRunCancelled']);
    expect(await runRow(h, 'lead-scoring-2027-03-03')).toMatchObject({ status: 'published', crm_status: 'cancelled', cancelled: true });
    expect(await count(h, 'scoring.lead_scores')).toBe(3000);
    const unanswered = 'scoring.crm_outbox o where not exists (select 1 from scoring.crm_batches b where b.run_id = o.run_id and b.partition = o.partition and b.batch = o.batch)';
    expect(await count(h, unanswered)).toBeGreaterThan(0);

    h.sandbox.resetFaults();
    const rerun = await h.run('2027-03-03');
    expect(rerun.crm).toBeDefined();
    expect(await count(h, unanswered)).toBe(0);
    expect(await runRow(h, 'lead-scoring-2027-03-03')).toMatchObject({ status: 'published', cancelled: false });
    expect((await runRow(h, 'lead-scoring-2027-03-03')).crm_status).not.toBe('cancelled');
  });
});

describe('a chunk that fails for good', () => {
  it('stops the scoring stage: the chunk in flight is cancelled, no chunk is scheduled after the failure, and the run is recorded failed with its type', async () => {
    const h = await harness(4000);
    // Chunk 4 sticks mid-transaction; chunk 3 then fails with a permission error (SQLSTATE 42501) while chunk 4 is in flight.
    await h.query(`create function public.fail_chunk() returns trigger language plpgsql as $$
      begin
        if new.chunk = 4 then perform pg_sleep(3600); end if;
        if new.chunk = 3 then
          for i in 1..600 loop
            exit when exists (select 1 from pg_stat_activity where wait_event = 'PgSleep' and datname = current_database() and pid <> pg_backend_pid());
            perform pg_sleep(0.05);
          end loop;
          raise exception 'permission denied for chunk 3' using errcode = '42501';
        end if;
        return null;
      end $$`);
    await h.query('create trigger fail_chunk after insert on scoring.run_chunks for each row execute function public.fail_chunk()');
    const handle = await startRun(h.rt, { asOf: '2027-03-04', full: false });

    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ActivityFailure);
    expect((cause as ActivityFailure).cause).toBeInstanceOf(ApplicationFailure);
    expect(((cause as ActivityFailure).cause as ApplicationFailure).type).toBe('DatabaseSchemaInvalid');

    const { scheduled, failedAt } = await activities(handle);
    const chunks = scheduled.filter((a) => a.type === 'scoreChunk');
    expect(chunks.filter((a) => a.at > failedAt)).toEqual([]);
    expect(chunks.map((a) => a.input.chunk)).toEqual([0, 1, 2, 3, 4]);
    expect(chunks.filter((a) => !a.closed)).toEqual([]);
    expect(await stuck(h)).toBe(false);
    expect(await runRow(h, 'lead-scoring-2027-03-04')).toMatchObject({ status: 'failed', error_type: 'DatabaseSchemaInvalid' });
    expect(await count(h, 'scoring.lead_scores')).toBe(0);
  });
});

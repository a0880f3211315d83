import { heartbeat } from '@temporalio/activity';
import type { Client } from '@hubspot/api-client';
import { withTransaction } from '../db/pool.js';
import { withHeartbeats } from './with-heartbeats.js';
import { cancellableSleep, throwIfCancelled } from './cancellation.js';
import { ConfigInvalid, CrmTargetMismatch, RunStateInvalid } from '../lib/errors.js';
import { crmSinkOf, propertySpecs, provisionProperties, type CrmSink } from './crm/contact-properties.js';
import { makeHubspotClient } from './crm/hubspot.js';
import { readCrmTarget, type CrmEndpoint } from './crm/target.js';
import { NOT_IN_CRM_REASON, sendContacts, type SendContext, type SyncMode } from './crm/send-contacts.js';
import { verifySample } from './crm/verify-contacts.js';
import { recordBudgetWait } from '../lib/metrics.js';
import { assertRunId, type ActivityDeps, type RunRef } from './deps.js';
import { stagePipeline, type StagePipeline } from './pipeline.js';
import { shopTablesOf } from '../source/shop-tables.js';
import { callsLeftToday, DailyQuotaExhausted, takeCall, type CrmBudget } from './sql/crm-budget.js';
import { outboxBatches, planOutbox, recordBatch, type OutboxSource } from './sql/crm-outbox.js';
import { reopenFailedCrmStage } from './sql/runs.js';

/** CRM settings the stage needs, from configuration. */
export interface CrmSettings {
  /** Where contacts go; undefined with SCOREFLOW_CRM=off: the stage records crm_status 'off' and sends nothing. */
  connection: CrmEndpoint | undefined;
  budget: CrmBudget;
  /** A score that moved by no more than this is not sent again (0: any change is sent). */
  epsilon: number;
  /** Outbox partitions, sent in parallel by any workers. */
  partitions: number;
  /** Contacts read back after each run. */
  verifySample: number;
  /** `update`: only contacts HubSpot has; `upsert`: create one per unknown email. */
  syncMode: SyncMode;
}

export interface CrmPlan {
  contacts: number;
  batches: number;
  partitions: number;
}

export interface CrmSummary {
  sent: number;
  unchanged: number;
  failed: number;
  skipped: number;
  /** Update mode: HubSpot has no contact with the email (recorded as skipped with that reason). */
  notInCrm: number;
  deferred: number;
  calls: number;
  rateLimited: number;
  verified: number;
}

/** Where a pipeline's outbox plan reads: its published results, its source's emails and (top-k) its products' names. */
export function outboxSource(pipeline: Pick<StagePipeline, 'definition' | 'source' | 'sinks'>): OutboxSource {
  const { definition } = pipeline;
  return {
    pipeline: definition.id,
    table: pipeline.source,
    current: pipeline.sinks.current,
    ...(definition.output.kind === 'top-k' ? { products: shopTablesOf(definition).products } : {}),
  };
}

/** Stage 4 of the pipeline: put each published result (score and bucket, or top-k item names) on its HubSpot contact, as the pipeline's CRM sink maps them. */
export function makeCrmSync(deps: ActivityDeps & { crm: CrmSettings }) {
  let client: Client | undefined;
  /** The CRM target this process sends to: read by each prepare, and once per process by a partition that needs it. */
  let ownTarget: string | undefined;
  const endpoint = (): CrmEndpoint => {
    if (!deps.crm.connection) {
      throw new ConfigInvalid('this worker runs with SCOREFLOW_CRM=off but was given a run planned with a CRM: set the same SCOREFLOW_CRM on every worker, then rerun the date');
    }
    return deps.crm.connection;
  };
  /** A client with fresh call counters for one activity invocation. */
  const context = (): SendContext => {
    client ??= makeHubspotClient(endpoint());
    // Waiting for the shared budget heartbeats too, so a long wait is not taken for a dead worker, and a cancel ends it.
    return { client, conn: endpoint(), takeCall: () => takeCall(deps.pool, deps.crm.budget, (ms) => { heartbeat(); recordBudgetWait(ms); }, cancellableSleep), counters: { calls: 0, rateLimited: 0 }, syncMode: deps.crm.syncMode };
  };

  /** The CRM sink of a run's pipeline, looked up by the run id (a partition's input names only the run). */
  async function runSink(runId: string): Promise<CrmSink> {
    const { rows } = await deps.pool.query<{ pipeline: string }>('select pipeline from scoring.pipeline_runs where run_id = $1', [runId]);
    if (!rows[0]) throw new RunStateInvalid(`Run ${runId} has no audit row; rerun its date`);
    return crmSinkOf(stagePipeline(deps, rows[0].pipeline).definition);
  }

  /** The run's CRM target, recorded when its outbox was planned; a run planned before targets existed reads it now, once. */
  async function runTarget(runId: string, ctx: SendContext): Promise<string> {
    const { rows } = await deps.pool.query<{ crm_target: string | null }>('select crm_target from scoring.pipeline_runs where run_id = $1', [runId]);
    if (rows[0]?.crm_target) return rows[0].crm_target;
    const target = (ownTarget ??= await readCrmTarget(ctx, endpoint().kind));
    const { rows: set } = await deps.pool.query<{ crm_target: string }>(
      'update scoring.pipeline_runs set crm_target = coalesce(crm_target, $2) where run_id = $1 returning crm_target',
      [runId, target],
    );
    return set[0]?.crm_target ?? target;
  }

  /**
   * Plans the run's outbox once (what changed since the CRM target last accepted it) and provisions the
   * properties. The target (HubSpot's portal) is read first, outside the transaction; with SCOREFLOW_CRM=off
   * the run records crm_status 'off' and has no partitions.
   */
  async function prepareCrmSync({ runId, pipeline: pipelineId }: RunRef): Promise<CrmPlan> {
    assertRunId(runId);
    await reopenFailedCrmStage(deps.pool, runId);
    const pipeline = stagePipeline(deps, pipelineId);
    const partitions = deps.crm.partitions;
    // A pipeline without a CRM sink is planned as with SCOREFLOW_CRM=off: crm_status 'off', no partitions.
    const ctx = deps.crm.connection && pipeline.definition.crm ? context() : undefined;
    const { rows: before } = await deps.pool.query<{ crm_status: string | null }>('select crm_status from scoring.pipeline_runs where run_id = $1', [runId]);
    const target = ctx && !before[0]?.crm_status ? (ownTarget = await counted(runId, ctx, () => readCrmTarget(ctx, endpoint().kind))) : undefined;
    const planned = await withTransaction(deps.pool, async (db) => {
      await db.query('select pg_advisory_xact_lock(hashtext($1), -1)', [runId]);
      const { rows } = await db.query<{ status: string; crm_status: string | null }>(
        'select status, crm_status from scoring.pipeline_runs where run_id = $1',
        [runId],
      );
      if (rows[0]?.status !== 'published') throw new RunStateInvalid(`Run ${runId} is not published; the CRM is only sent published scores`);
      if (rows[0].crm_status) {
        const { rows: counts } = await db.query<{ contacts: number; batches: number }>(
          'select count(*)::int as contacts, count(distinct (partition, batch))::int as batches from scoring.crm_outbox where run_id = $1',
          [runId],
        );
        return { ...counts[0]!, fresh: false };
      }
      if (!ctx) {
        await db.query("update scoring.pipeline_runs set crm_status = 'off', updated_at = now() where run_id = $1", [runId]);
        return { contacts: 0, batches: 0, fresh: false };
      }
      if (!target) throw new Error(`run ${runId} was planned and reset while this attempt read the CRM target; the stage retries`);
      const capacity = Math.max(0, (await callsLeftToday(deps.pool, deps.crm.budget)) - 10 - Math.ceil(deps.crm.verifySample / 100)) * 100;
      const plan = await planOutbox(db, { runId, ...outboxSource(pipeline), target, epsilon: deps.crm.epsilon, partitions, capacity });
      await db.query(
        `update scoring.pipeline_runs set crm_status = 'sending', crm_target = $5, crm_started_at = now(), crm_unchanged = $2, crm_skipped = $3,
           crm_deferred = $4, crm_calls = coalesce(crm_calls, 0), crm_rate_limited = coalesce(crm_rate_limited, 0), updated_at = now() where run_id = $1`,
        [runId, plan.unchanged, plan.skipped, plan.deferred, target],
      );
      return { contacts: plan.contacts, batches: plan.batches, fresh: true };
    });
    if (ctx && planned.contacts > 0) await counted(runId, ctx, () => provisionProperties(ctx.client, ctx, propertySpecs(crmSinkOf(pipeline.definition))));
    deps.log.info({ runId, contacts: planned.contacts, batches: planned.batches, target }, 'crm outbox planned');
    return { contacts: planned.contacts, batches: planned.batches, partitions: ctx ? partitions : 0 };
  }

  /** Sends one partition's batches in order, resuming after the last batch HubSpot answered; a cancel stops it between batches. */
  async function syncCrmPartition({ runId, partition }: { runId: string; partition: number }): Promise<{ sent: number; failed: number }> {
    assertRunId(runId);
    await reopenFailedCrmStage(deps.pool, runId);
    const ctx = context();
    let sent = 0;
    let failed = 0;
    let target: string | undefined;
    let sink: CrmSink | undefined;
    for await (const next of outboxBatches(deps.pool, runId, partition)) {
      throwIfCancelled();
      if (!target) {
        sink = await runSink(runId);
        const [recorded, own] = await counted(runId, ctx, async () => [await runTarget(runId, ctx), ownTarget ??= await readCrmTarget(ctx, endpoint().kind)]);
        // Contacts are recorded as accepted by the run's target: only a worker sending there may send them.
        if (own !== recorded) throw new CrmTargetMismatch(runId, recorded, own);
        target = recorded;
      }
      let result;
      const before = { ...ctx.counters };
      try {
        result = await sendContacts(ctx, sink!, next.contacts);
      } catch (err) {
        // The attempts of a batch that got no answer still spent HubSpot's limit: count them on the run.
        await addCalls(runId, ctx.counters.calls - before.calls, ctx.counters.rateLimited - before.rateLimited);
        if (!(err instanceof DailyQuotaExhausted)) throw err;
        await deferRest(runId, partition);
        break;
      }
      await withTransaction(deps.pool, (db) => recordBatch(db, { runId, pipeline: sink!.pipeline, target: target!, partition, batch: next.batch, ...result, notInCrmReason: NOT_IN_CRM_REASON }));
      sent += result.accepted.length;
      failed += result.failed.length;
      heartbeat({ partition, batch: next.batch });
    }
    return { sent, failed };
  }

  /** Runs `work` and adds the HTTP attempts it made to the run's counts, answered or not: each one spent HubSpot's limit. */
  async function counted<T>(runId: string, ctx: SendContext, work: () => Promise<T>): Promise<T> {
    const before = { ...ctx.counters };
    try {
      return await work();
    } finally {
      await addCalls(runId, ctx.counters.calls - before.calls, ctx.counters.rateLimited - before.rateLimited);
    }
  }

  /** Adds HTTP attempts that no answered batch records to the run's counts. */
  async function addCalls(runId: string, calls: number, rateLimited: number): Promise<void> {
    if (calls === 0 && rateLimited === 0) return;
    await deps.pool.query(
      'update scoring.pipeline_runs set crm_calls = coalesce(crm_calls, 0) + $2, crm_rate_limited = coalesce(crm_rate_limited, 0) + $3 where run_id = $1',
      [runId, calls, rateLimited],
    );
  }

  /** Marks a partition's unsent batches deferred to the next run (today's quota ran out mid-run). */
  async function deferRest(runId: string, partition: number): Promise<void> {
    await withTransaction(deps.pool, async (db) => {
      await db.query(
        `insert into scoring.crm_sync_failures (run_id, lead_id, kind, reason)
         select o.run_id, o.lead_id, 'deferred', 'the HubSpot daily quota ran out; it goes with the next run'
         from scoring.crm_outbox o where o.run_id = $1 and o.partition = $2
           and not exists (select 1 from scoring.crm_batches b where b.run_id = o.run_id and b.partition = o.partition and b.batch = o.batch)
         on conflict do nothing`,
        [runId, partition],
      );
      await db.query(
        `insert into scoring.crm_batches (run_id, partition, batch, sent, failed, calls, rate_limited)
         select distinct run_id, partition, batch, 0, 0, 0, 0 from scoring.crm_outbox where run_id = $1 and partition = $2
         on conflict do nothing`,
        [runId, partition],
      );
    });
  }

  /** Reads back a sample, then writes the stage's counts to the run's audit row. */
  async function finishCrmSync({ runId }: RunRef): Promise<CrmSummary> {
    assertRunId(runId);
    const { rows: status } = await deps.pool.query<{ crm_status: string | null }>('select crm_status from scoring.pipeline_runs where run_id = $1', [runId]);
    if (status[0]?.crm_status === 'off') return { sent: 0, unchanged: 0, failed: 0, skipped: 0, notInCrm: 0, deferred: 0, calls: 0, rateLimited: 0, verified: 0 };
    const ctx = context();
    const verified = status[0]?.crm_status === 'sending'
      ? await counted(runId, ctx, async () => verifySample(deps.pool, ctx, await runSink(runId), runId, await runTarget(runId, ctx), deps.crm.verifySample))
      : undefined;
    const { rows } = await deps.pool.query<CrmSummary>(
      `update scoring.pipeline_runs r set
         -- a finished run's answered batches may be pruned (retention): its count stays as recorded
         crm_sent = case when r.crm_status = 'sending' then b.sent else r.crm_sent end,
         crm_calls = coalesce(r.crm_calls, 0) + case when r.crm_status = 'sending' then b.calls else 0 end,
         crm_rate_limited = coalesce(r.crm_rate_limited, 0) + case when r.crm_status = 'sending' then b.rate_limited else 0 end,
         crm_failed = f.failed, crm_deferred = f.deferred, crm_skipped = f.skipped, crm_not_found = f.not_found,
         crm_verified = coalesce($2, r.crm_verified),
         crm_status = case when f.failed > 0 or f.deferred > 0 then 'partial' else 'synced' end,
         crm_ms = case when r.crm_status = 'sending' then (extract(epoch from now() - r.crm_started_at) * 1000)::int else r.crm_ms end, updated_at = now(),
         -- the last stage finished: whatever stopped an earlier attempt of this run is resolved
         error_type = null, error_message = null
       from (select coalesce(sum(sent), 0)::int as sent, coalesce(sum(calls), 0)::int as calls, coalesce(sum(rate_limited), 0)::int as rate_limited
             from scoring.crm_batches where run_id = $1) b,
            (select count(*) filter (where kind in ('failed', 'verify'))::int as failed, count(*) filter (where kind = 'deferred')::int as deferred,
                    count(*) filter (where kind = 'skipped' and reason <> $3)::int as skipped,
                    count(*) filter (where kind = 'skipped' and reason = $3)::int as not_found from scoring.crm_sync_failures where run_id = $1) f
       where r.run_id = $1
       returning r.crm_sent as sent, r.crm_unchanged as unchanged, r.crm_failed as failed, r.crm_skipped as skipped, r.crm_not_found as "notInCrm",
                 r.crm_deferred as deferred, r.crm_calls as calls, r.crm_rate_limited as "rateLimited", r.crm_verified as verified`,
      [runId, verified?.checked ?? null, NOT_IN_CRM_REASON],
    );
    deps.log.info({ runId, ...rows[0] }, 'crm synced');
    return rows[0]!;
  }

  return {
    prepareCrmSync: (ref: RunRef) => withHeartbeats(() => prepareCrmSync(ref)),
    syncCrmPartition: (p: { runId: string; partition: number }) => withHeartbeats(() => syncCrmPartition(p), 1000),
    finishCrmSync: (ref: RunRef) => withHeartbeats(() => finishCrmSync(ref)),
  };
}

import type { PoolClient, Pool } from '../../db/pool.js';
import { quoteColumn, type LeadsTable } from '../../source/leads-table.js';
import { useBulkWorkMem } from './bulk-work-mem.js';
import { currentWithModel } from './current-shape.js';
import { attachRunOutbox, createRunOutbox } from './run-outbox.js';
import { keyIsUnique } from './source-key.js';

/** A plain, plausible email after trimming and lower-casing: something@domain.tld, no spaces. */
const VALID_EMAIL = String.raw`^[^@\s]+@[^@\s]+\.[^@\s]+$`;

export interface OutboxPlan {
  contacts: number;
  batches: number;
  unchanged: number;
  skipped: number;
  deferred: number;
}

/** Where a plan reads its pipeline's published results and what that pipeline last had accepted. */
export interface OutboxSource {
  /** The pipeline whose sync state counts (crm_sync_state.pipeline). */
  pipeline: string;
  /** The keyed source table, with its email column. */
  table: LeadsTable;
  /** The published results: a current score per key (its model named per row or by its run, see currentWithModel), or (top-k) a current row per key and rank. */
  current: string;
  /** top-k only: the products table whose `name` the contact gets, one per rank. */
  products?: LeadsTable;
}

/**
 * Builds the run's outbox once, in the caller's transaction: every published key (of the `current` table)
 * whose published result differs from what the run's CRM `target` last accepted for this pipeline (what
 * other targets or pipelines accepted does not count): for scores, a changed bucket or a score moved by
 * more than `epsilon`; for top-k, a changed list of item names. One input per email; keys without a usable
 * email are recorded as skipped. Highest priority first (bucket changes, then the largest moves; for top-k,
 * contacts never sent first); beyond `capacity` contacts the rest is recorded as deferred to the next run.
 * Its sorts get BULK_WORK_MEM, so that they merge their runs in one pass at any size. The rows go into the run's
 * own outbox table, bare, whose key is built once they are all in (see run-outbox.ts).
 */
export async function planOutbox(
  client: PoolClient,
  p: OutboxSource & { runId: string; target: string; epsilon: number; partitions: number; capacity: number },
): Promise<OutboxPlan> {
  const key = quoteColumn(p.table.columns.key);
  const email = quoteColumn(p.table.columns.email ?? 'email');
  const change = quoteColumn(p.table.columns.change);
  // A source whose key may repeat gives each key the email of its newest row. One whose key is unique needs no sort
  // by key: at 10M leads, walking the key's index over a table larger than the shared buffers took 7 of the plan's 122 s.
  const emails = (await keyIsUnique(client, p.table))
    ? `(select ${key} as lead_id, ${email} as email from ${p.table.sql})`
    : `(select distinct on (${key}) ${key} as lead_id, ${email} as email from ${p.table.sql} order by ${key}, ${change} desc)`;
  const changed = p.products
    ? `with items as materialized (
         select r.customer_id as lead_id, array_agg(coalesce(pr.name, '') order by r.rank) as items,
                min(r.model_version) as model_version, min(r.generated_at) as scored_at
         from ${p.current} r left join ${p.products.sql} pr using (product_id)
         group by r.customer_id
       ), changed as (
         select i.lead_id, lower(btrim(l.email)) as email, null::float8 as score, null::text as bucket, i.items, i.model_version, i.scored_at,
                (s.lead_id is null)::int as priority
         from items i
         join ${emails} l using (lead_id)
         left join scoring.crm_sync_state s on s.target = $4 and s.pipeline = $5 and s.lead_id = i.lead_id
         where s.lead_id is null or s.items is distinct from i.items
       )`
    : `with changed as (
         select ls.lead_id, lower(btrim(l.email)) as email, ls.score, ls.bucket, null::text[] as items, ls.model_version, ls.scored_at,
                (s.bucket is distinct from ls.bucket)::int * 2 + abs(ls.score - coalesce(s.score, 0)) as priority
         from ${await currentWithModel(client, p.current)} ls
         join ${emails} l using (lead_id)
         left join scoring.crm_sync_state s on s.target = $4 and s.pipeline = $5 and s.lead_id = ls.lead_id
         where s.lead_id is null or s.bucket <> ls.bucket or abs(s.score - ls.score) > $6
       )`;
  const published = p.products ? '(select count(*)::int from items)' : `(select count(*)::int from ${p.current})`;
  await useBulkWorkMem(client);
  const outbox = await createRunOutbox(client, p.runId);
  // Each CTE but ranked is read once, so PostgreSQL streams it into the next instead of writing it to a temporary
  // file and reading it back: with changed and sendable materialized, the plan and its key took 15.7-16.5 s at 1M and
  // 155-169 s at 10M (EXPLAIN ANALYZE on the bench's tables), against 10.5-11.4 s and 108-118 s so.
  const { rows } = await client.query<OutboxPlan>(
    `${changed}, ranked as materialized (
       select c.*,
              c.email is not null and c.email ~ '${VALID_EMAIL}' as valid,
              row_number() over (partition by c.email order by c.scored_at desc, c.lead_id desc) as nth,
              first_value(c.lead_id) over (partition by c.email order by c.scored_at desc, c.lead_id desc) as kept
       from changed c
     ), sendable as (
       select r.*, row_number() over (order by priority desc, lead_id) - 1 as pos
       from ranked r where valid and nth = 1
     ), outbox as (
       insert into ${outbox.sql} (run_id, lead_id, email, score, bucket, items, model_version, scored_at, partition, batch)
       select $1, lead_id, email, score, bucket, items, model_version, scored_at, (pos / 100) % $2, (pos / 100) / $2
       from sendable where pos < $3
       returning lead_id
     ), skipped as (
       insert into scoring.crm_sync_failures (run_id, lead_id, kind, reason)
       select $1, lead_id, 'skipped', case when email is null or email = '' then 'the ${p.products ? 'customer' : 'lead'} has no email'
                                           when not valid then 'the email is not a valid address'
                                           else '${p.products ? 'customer' : 'lead'} ' || kept || ' has the same email and was sent instead' end
       from ranked where not valid or nth > 1
       union all
       -- The sendable rows the quota left out. Only a full outbox can have left any out: otherwise the condition on its
       -- count is false once for the statement and the rows are not read, so that sendable, read once, is never materialized.
       select $1, r.lead_id, 'deferred', 'the HubSpot daily quota is spent; it goes with the next run'
       from ranked r where r.valid and r.nth = 1 and (select count(*) from outbox) >= $3
         and not exists (select 1 from outbox o where o.lead_id = r.lead_id)
       on conflict do nothing
       returning kind
     )
     select (select count(*)::int from outbox) as contacts,
            (select count(*)::int from skipped where kind = 'skipped') as skipped,
            (select count(*)::int from skipped where kind = 'deferred') as deferred,
            ${published} - (select count(*)::int from ranked) as unchanged,
            0 as batches`,
    // epsilon ($6) only where the plan compares scores: PostgreSQL refuses a parameter no statement uses.
    [p.runId, p.partitions, p.capacity, p.target, p.pipeline, ...(p.products ? [] : [p.epsilon])],
  );
  await attachRunOutbox(client, outbox);
  await client.query('reset work_mem');
  const plan = rows[0]!;
  plan.batches = Math.ceil(plan.contacts / 100);
  return plan;
}

/** One contact to send: the pipeline's key (`lead_id`), its email and what goes on the contact. */
export interface OutboxContact {
  lead_id: string;
  email: string;
  /** Scores: the probability and bucket; null for top-k. */
  score: number | null;
  bucket: string | null;
  /** top-k: the items' names in rank order; null for scores. */
  items: string[] | null;
  model_version: string;
  scored_at: Date;
}

/**
 * Where a partition resumes: the batch after the last one HubSpot answered (crm_batches), one index
 * lookup. A partition's batches are numbered 0, 1, 2, … and answered in that order, so the answered
 * ones are always a prefix.
 */
export async function resumeBatch(pool: Pool, runId: string, partition: number): Promise<number> {
  const { rows } = await pool.query<{ next: number }>(
    'select coalesce(max(batch) + 1, 0)::int as next from scoring.crm_batches where run_id = $1 and partition = $2',
    [runId, partition],
  );
  return rows[0]!.next;
}

/** One batch of a partition by its key (an index range of at most 100 rows); empty past the partition's last batch. */
export async function readBatch(pool: Pool, runId: string, partition: number, batch: number): Promise<OutboxContact[]> {
  const { rows } = await pool.query<OutboxContact>(
    `select lead_id, email, score, bucket, items, model_version, scored_at from scoring.crm_outbox
     where run_id = $1 and partition = $2 and batch = $3 order by lead_id`,
    [runId, partition, batch],
  );
  return rows;
}

/**
 * A partition's unanswered batches in order: the resume point is found once, then each batch is read
 * by its key, so walking a partition costs the same per batch at its start and at its end.
 */
export async function* outboxBatches(pool: Pool, runId: string, partition: number): AsyncGenerator<{ batch: number; contacts: OutboxContact[] }> {
  for (let batch = await resumeBatch(pool, runId, partition); ; batch++) {
    const contacts = await readBatch(pool, runId, partition, batch);
    if (!contacts.length) return;
    yield { batch, contacts };
  }
}

/**
 * Records HubSpot's answer to one batch in one transaction: accepted contacts become the run target's sync state,
 * failures are kept with HubSpot's message, and the batch is marked answered.
 */
export async function recordBatch(
  client: PoolClient,
  p: {
    runId: string;
    /** The run's pipeline: whose sync state the accepted contacts become. */
    pipeline: string;
    /** The CRM that answered (the run's `crm_target`). */
    target: string;
    partition: number;
    batch: number;
    accepted: Array<{ contact: OutboxContact; hubspotId: string | undefined }>;
    failed: Array<{ contact: OutboxContact; reason: string }>;
    /** Update mode: contacts HubSpot does not have, recorded as skipped with `notInCrmReason`. */
    notInCrm?: OutboxContact[];
    notInCrmReason?: string;
    calls: number;
    rateLimited: number;
  },
): Promise<void> {
  const a = p.accepted;
  await client.query(
    `insert into scoring.crm_sync_state (target, pipeline, lead_id, email, score, bucket, items, model_version, run_id, hubspot_id, synced_at)
     select $8, $9, lead_id, email, score, bucket, case when items is null then null else array(select e from jsonb_array_elements_text(items::jsonb) with ordinality as x(e, n) order by n) end,
            model_version, $1, hubspot_id, now()
     from unnest($2::bigint[], $3::text[], $4::float8[], $5::text[], $10::text[], $6::text[], $7::text[])
       as t(lead_id, email, score, bucket, items, model_version, hubspot_id)
     on conflict (target, pipeline, lead_id) do update set email = excluded.email, score = excluded.score, bucket = excluded.bucket,
       items = excluded.items, model_version = excluded.model_version, run_id = excluded.run_id,
       hubspot_id = coalesce(excluded.hubspot_id, crm_sync_state.hubspot_id), synced_at = now()`,
    [p.runId, a.map((x) => x.contact.lead_id), a.map((x) => x.contact.email), a.map((x) => x.contact.score),
      a.map((x) => x.contact.bucket), a.map((x) => x.contact.model_version), a.map((x) => x.hubspotId ?? null), p.target, p.pipeline,
      // A list per contact: each as JSON text, since a SQL array of arrays must be rectangular.
      a.map((x) => (x.contact.items ? JSON.stringify(x.contact.items) : null))],
  );
  if (p.failed.length) {
    await client.query(
      `insert into scoring.crm_sync_failures (run_id, lead_id, kind, reason)
       select $1, lead_id, 'failed', reason from unnest($2::bigint[], $3::text[]) as t(lead_id, reason)
       on conflict (run_id, lead_id) do update set kind = 'failed', reason = excluded.reason, at = now()`,
      [p.runId, p.failed.map((f) => f.contact.lead_id), p.failed.map((f) => f.reason)],
    );
  }
  if (p.notInCrm?.length) {
    await client.query(
      `insert into scoring.crm_sync_failures (run_id, lead_id, kind, reason)
       select $1, lead_id, 'skipped', $3 from unnest($2::bigint[]) as t(lead_id)
       on conflict (run_id, lead_id) do update set kind = 'skipped', reason = excluded.reason, at = now()`,
      [p.runId, p.notInCrm.map((c) => c.lead_id), p.notInCrmReason],
    );
  }
  await client.query(
    `insert into scoring.crm_batches (run_id, partition, batch, sent, failed, calls, rate_limited) values ($1, $2, $3, $4, $5, $6, $7)
     on conflict do nothing`,
    [p.runId, p.partition, p.batch, a.length, p.failed.length, p.calls, p.rateLimited],
  );
}

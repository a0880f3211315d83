import { withClient } from '../db/pool.js';
import { contactValues, crmSinkOf, CONTACT_PROPERTIES } from '../activities/crm/contact-properties.js';
import { LEAD_SCORING } from '../pipelines/index.js';
import { callHubspot, makeHubspotClient } from '../activities/crm/hubspot.js';
import { sendContacts } from '../activities/crm/send-contacts.js';
import { readCrmTarget } from '../activities/crm/target.js';
import { planOutbox, type OutboxContact } from '../activities/sql/crm-outbox.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { requireCrm, type Runtime } from './runtime.js';

/** One line per thing `scoreflow crm check` verifies, with what to do when it is missing. */
export async function checkCrm(rt: Runtime): Promise<Array<{ check: string; ok: boolean; detail: string }>> {
  const crm = requireCrm(rt);
  const client = makeHubspotClient(crm);
  const out: Array<{ check: string; ok: boolean; detail: string }> = [];
  const attempt = async (check: string, fn: () => Promise<string>) => {
    try {
      out.push({ check, ok: true, detail: await fn() });
    } catch (err) {
      out.push({ check, ok: false, detail: (err as Error).message });
    }
  };
  await attempt('contacts read (crm.objects.contacts.read)', async () => {
    const r = await callHubspot(crm, () => client.crm.contacts.basicApi.getPageWithHttpInfo(1) as never);
    if (r.kind !== 'ok') throw new Error(`HubSpot answered ${r.kind}`);
    return `token from ${crm.tokenSource} accepted by ${crm.baseUrl}`;
  });
  await attempt('properties (crm.schemas.contacts.read)', async () => {
    const r = await callHubspot<{ results: Array<{ name: string }> }>(crm, () => client.crm.properties.coreApi.getAllWithHttpInfo('contacts') as never);
    if (r.kind !== 'ok') throw new Error(`HubSpot answered ${r.kind}`);
    const have = new Set(r.body.results.map((p) => p.name));
    const missing = CONTACT_PROPERTIES.filter((p) => !have.has(p.name)).map((p) => p.name);
    return missing.length ? `missing ${missing.join(', ')}: the next run creates them (needs crm.schemas.contacts.write)` : 'all scoreflow properties exist';
  });
  await attempt('contacts write (crm.objects.contacts.write)', async () => {
    const r = await callHubspot(crm, () => client.crm.contacts.batchApi.upsertWithHttpInfo({ inputs: [] }) as never);
    return r.kind === 'rate-limited' ? 'rate-limited, try again' : 'the token may write contacts';
  });
  return out;
}

/**
 * What the next CRM sync would send to the configured target (its portal read from HubSpot): the outbox
 * is planned in a transaction that is always rolled back.
 */
export async function dryRunCrm(rt: Runtime): Promise<{ target: string; contacts: number; unchanged: number; skipped: number; sample: Array<Pick<OutboxContact, 'lead_id' | 'bucket' | 'score'>> }> {
  const crm = requireCrm(rt);
  const target = await readCrmTarget({ client: makeHubspotClient(crm), conn: crm, takeCall: async () => {}, counters: { calls: 0, rateLimited: 0 } }, crm.kind);
  return withClient(rt.pool, async (db) => {
    try {
      await db.query('begin');
      const plan = await planOutbox(db, {
        runId: 'dry-run', pipeline: LEAD_SCORING, table: parseLeadsTable(rt.config.source.leadsTable), current: 'scoring.lead_scores', target, epsilon: rt.config.crm.epsilon,
        partitions: rt.config.crm.concurrency, capacity: Number.MAX_SAFE_INTEGER,
      });
      const { rows } = await db.query<OutboxContact>(
        "select lead_id, bucket, score from scoring.crm_outbox where run_id = 'dry-run' order by partition, batch, lead_id limit 5",
      );
      return { target, contacts: plan.contacts, unchanged: plan.unchanged, skipped: plan.skipped, sample: rows };
    } finally {
      await db.query('rollback').catch(() => {});
    }
  });
}

/** Sends one lead's published score to the CRM and reads the contact back. */
export async function testCrm(rt: Runtime, leadId: number): Promise<Record<string, string | null>> {
  const table = parseLeadsTable(rt.config.source.leadsTable);
  const { rows } = await rt.pool.query<OutboxContact>(
    `select s.lead_id, lower(btrim(l.email)) as email, s.score, s.bucket, null as items, s.model_version, s.scored_at
     from scoring.lead_scores s join ${table.sql} l using (lead_id) where s.lead_id = $1 limit 1`,
    [leadId],
  );
  const contact = rows[0];
  if (!contact) throw new Error(`lead ${leadId} has no published score; run the pipeline first`);
  const crm = requireCrm(rt);
  const client = makeHubspotClient(crm);
  const sink = crmSinkOf(rt.pipelines.get(LEAD_SCORING));
  const sent = await sendContacts({ client, conn: crm, takeCall: async () => {}, counters: { calls: 0, rateLimited: 0 }, syncMode: rt.config.crm.syncMode }, sink, [contact]);
  if (sent.notInCrm.length) throw new Error(`HubSpot has no contact for lead ${leadId} (update mode); create it in HubSpot or set SCOREFLOW_CRM_SYNC_MODE=upsert`);
  if (sent.failed.length) throw new Error(`HubSpot refused lead ${leadId}: ${sent.failed[0]!.reason}`);
  const r = await callHubspot<{ properties: Record<string, string | null> }>(crm, () =>
    client.crm.contacts.basicApi.getByIdWithHttpInfo(contact.email, Object.keys(contactValues(sink, contact)), undefined, undefined, false, 'email') as never,
  );
  if (r.kind !== 'ok') throw new Error(`reading the contact back failed (${r.kind})`);
  return r.body.properties;
}

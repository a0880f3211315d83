import type { Command } from 'commander';
import { withTransaction } from '../db/pool.js';
import { crmSinkOf, propertySpecs } from '../activities/crm/contact-properties.js';
import { callHubspot, makeHubspotClient, type CrmConnection } from '../activities/crm/hubspot.js';
import { forgetPerson, normalizeEmail, PERSON_TABLES, type Forgotten } from '../activities/sql/forget-person.js';
import { pruneRetention, type PruneCounts } from '../activities/sql/prune-retention.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { PIPELINE } from '../workflows/lead-scoring.js';
import { PRODUCT_RECS } from '../pipelines/index.js';
import type { Runtime, WithRuntime } from './runtime.js';

type Print = (json: boolean | undefined, value: unknown, text: () => string) => void;

/** What HubSpot holds for an email: whether a contact exists and scoreflow's properties on it. */
export interface HubspotContactCheck {
  checked: boolean;
  baseUrl?: string;
  contactId?: string;
  properties?: Record<string, string | null>;
  detail?: string;
}

/** Removes the working rows of runs past SCOREFLOW_RETENTION_DAYS, as the daily run does after publishing. */
export async function pruneNow(rt: Runtime): Promise<PruneCounts & { retentionDays: number }> {
  const pruned = await withTransaction(rt.pool, (client) => pruneRetention(client, rt.config.retention.days));
  rt.log.info({ retentionDays: rt.config.retention.days, ...pruned }, 'pruned working rows past retention');
  return { retentionDays: rt.config.retention.days, ...pruned };
}

/** Removes a person from every scoreflow table in one transaction, then looks the email up in the CRM. */
export async function forgetEmail(rt: Runtime, email: string): Promise<Forgotten & { email: string; sourceTable: string; hubspot: HubspotContactCheck }> {
  const normalized = normalizeEmail(email);
  const recs = rt.pipelines.get(PRODUCT_RECS).source;
  const sources = [
    { pipeline: PIPELINE, table: parseLeadsTable(rt.config.source.leadsTable) },
    { pipeline: PRODUCT_RECS, table: parseLeadsTable(recs.table, { key: recs.key, change: recs.change, email: recs.email ?? 'email' }) },
  ];
  const forgotten = await withTransaction(rt.pool, (client) => forgetPerson(client, { email: normalized, sources }));
  rt.log.info({ leads: forgotten.leadIds.length, customers: forgotten.keys[PRODUCT_RECS]?.length ?? 0, removed: forgotten.removed, sourceRows: forgotten.sourceRows }, 'forgot a person');
  const crm: CrmConnection | undefined = rt.crm;
  // Every property a pipeline's CRM sink writes (lead scoring's, and the recommender's with SCOREFLOW_RECS_CRM=on).
  const names = rt.pipelines.all().filter((d) => d.crm).flatMap((d) => propertySpecs(crmSinkOf(d)).map((p) => p.name));
  const hubspot = crm ? await findContact(crm, normalized, names) : { checked: false, detail: 'no CRM configured' };
  return { email: normalized, sourceTable: `${sources[0]!.table.schema}.${sources[0]!.table.table}`, ...forgotten, hubspot };
}

/** One batch read by email (as the run's read-back does); a failure to answer is reported, not thrown. */
async function findContact(conn: CrmConnection, email: string, names: string[]): Promise<HubspotContactCheck> {
  const client = makeHubspotClient(conn);
  try {
    const r = await callHubspot<{ results?: Array<{ id: string; properties?: Record<string, string | null> }> }>(conn, () =>
      client.crm.contacts.batchApi.readWithHttpInfo({
        idProperty: 'email',
        inputs: [{ id: email }],
        properties: ['email', ...names],
        propertiesWithHistory: [],
      }) as never,
    );
    if (r.kind !== 'ok') return { checked: false, baseUrl: conn.baseUrl, detail: `HubSpot answered ${r.kind}` };
    const contact = r.body.results?.[0];
    if (!contact) return { checked: true, baseUrl: conn.baseUrl };
    const properties = Object.fromEntries(names.map((name) => [name, contact.properties?.[name] ?? null]));
    return { checked: true, baseUrl: conn.baseUrl, contactId: contact.id, properties };
  } catch (err) {
    return { checked: false, baseUrl: conn.baseUrl, detail: (err as Error).message };
  }
}

function forgetReport(f: Awaited<ReturnType<typeof forgetEmail>>): string {
  const held = f.hubspot.properties && Object.entries(f.hubspot.properties).filter(([, v]) => v != null);
  const hubspot = !f.hubspot.checked
    ? `HubSpot: not checked (${f.hubspot.detail ?? 'unknown'}); look the email up there and delete the contact if it exists`
    : f.hubspot.contactId
      ? `HubSpot (${f.hubspot.baseUrl}): contact ${f.hubspot.contactId} ${held?.length ? `holds ${held.map(([k, v]) => `${k}=${v}`).join(', ')}` : 'holds no scoreflow property'}; `
        + 'delete it in HubSpot (e.g. a GDPR delete): scoreflow cannot'
      : `HubSpot (${f.hubspot.baseUrl}): no contact with this email`;
  return [
    `forgot ${f.email}: ${f.leadIds.length ? `lead ${f.leadIds.join(', ')}` : 'no lead found'}`
      + (f.keys[PRODUCT_RECS]?.length ? `; customer ${f.keys[PRODUCT_RECS].join(', ')}` : ''),
    `removed from scoreflow: ${PERSON_TABLES.map((t) => `${t.name} ${f.removed[t.name]}`).join(', ')}`,
    'still outside scoreflow:',
    ...(f.sources.some((s) => s.table === f.sourceTable) ? [] : [{ table: f.sourceTable, rows: f.sourceRows }]).concat(f.sources.map((s) => ({ table: s.table, rows: s.rows })))
      .map((s) => `  ${s.table}: ${s.rows} row${s.rows === 1 ? '' : 's'} with this email${s.rows ? '; delete them there, or the next run scores them again' : ''}`),
    `  ${hubspot}`,
  ].join('\n');
}

/** Registers `prune` and `forget` on the CLI. */
export function registerDataCommands(program: Command, withRuntime: WithRuntime, print: Print): void {
  program.command('prune').description('remove snapshots, staged scores and CRM outbox rows of runs older than SCOREFLOW_RETENTION_DAYS').option('--json', 'JSON output')
    .action((o: { json?: boolean }) =>
      withRuntime({ temporal: false, crm: 'off' }, async (rt) => {
        const p = await pruneNow(rt);
        print(o.json, p, () =>
          `pruned runs older than ${p.retentionDays} days: run_leads ${p.runLeads}, staged_scores ${p.stagedScores} (staging tables ${p.stagingTables}), staged_recommendations ${p.stagedRecommendations}, run_chunks ${p.runChunks}, `
          + `crm_outbox ${p.crmOutbox} (outbox tables ${p.outboxTables}), crm_batches ${p.crmBatches}, crm_rate_log ${p.crmRateLog}; audit rows, scores and history kept`);
      }),
    );
  program.command('forget').description('remove a person from every scoreflow table, and say what remains in the source table and HubSpot')
    .requiredOption('--email <address>', 'the person\'s email').option('--json', 'JSON output')
    .action((o: { email: string; json?: boolean }) =>
      withRuntime({ temporal: false, crm: 'off' }, async (rt) => {
        const f = await forgetEmail(rt, o.email);
        print(o.json, f, () => forgetReport(f));
      }),
    );
}

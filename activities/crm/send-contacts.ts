import type { Client } from '@hubspot/api-client';
import { CrmPropertyInvalid } from '../../lib/errors.js';
import type { OutboxContact } from '../sql/crm-outbox.js';
import { contactValues, propertySpecs, type CrmSink } from './contact-properties.js';
import { callWithBudget, type BudgetedCaller, type HubspotErrorDetail, type Rejection } from './hubspot.js';

/** What sending one batch came to, including every call it took (splits, retries and 429s). */
export interface SendResult {
  accepted: Array<{ contact: OutboxContact; hubspotId: string | undefined }>;
  failed: Array<{ contact: OutboxContact; reason: string }>;
  /** Update mode: HubSpot has no contact with these emails; nothing was created. */
  notInCrm: OutboxContact[];
  calls: number;
  rateLimited: number;
}

/**
 * `update` writes only contacts HubSpot already has (batch/update by email); `upsert` also creates a
 * contact for every unknown email (batch/upsert), which exports personal data and uses the contact tier.
 */
export type SyncMode = 'update' | 'upsert';

/** A HubSpot client with the shared budget, the sync mode and this activity's call counters. */
export interface SendContext extends BudgetedCaller {
  client: Client;
  syncMode: SyncMode;
}

/** Why a contact of an update-mode batch was not written; the summary counts these as "not in HubSpot". */
export const NOT_IN_CRM_REASON = 'no HubSpot contact has this email (update mode; set SCOREFLOW_CRM_SYNC_MODE=upsert to create contacts)';

interface BatchBody {
  results?: Array<{ id?: string; properties?: Record<string, string | null> }>;
  errors?: Array<{ message?: string; category?: string; context?: Record<string, string[]> }>;
}

/**
 * Sends contacts by email in the configured mode. A 207 gives per-contact failures (and, in update mode,
 * the emails HubSpot has no contact for). A rejection caused by configuration (a property that does not
 * exist, or one of scoreflow's properties refusing its value) stops the stage with CrmPropertyInvalid;
 * a batch rejected whole for one contact's data is split in halves until the offending inputs stand
 * alone, so every other contact in it still goes through.
 */
export async function sendContacts(ctx: SendContext, sink: CrmSink, contacts: OutboxContact[]): Promise<SendResult> {
  const before = { ...ctx.counters };
  const result: SendResult = { accepted: [], failed: [], notInCrm: [], calls: 0, rateLimited: 0 };
  await sendInto(ctx, sink, new Set(propertySpecs(sink).map((p) => p.name)), contacts, result);
  result.calls = ctx.counters.calls - before.calls;
  result.rateLimited = ctx.counters.rateLimited - before.rateLimited;
  return result;
}

async function sendInto(ctx: SendContext, sink: CrmSink, own: ReadonlySet<string>, contacts: OutboxContact[], result: SendResult): Promise<void> {
  if (contacts.length === 0) return;
  const inputs = contacts.map((c) => ({
    idProperty: 'email',
    id: c.email,
    properties: contactValues(sink, c),
  }));
  const batchApi = ctx.client.crm.contacts.batchApi;
  const outcome = await callWithBudget<BatchBody>(ctx, () =>
    (ctx.syncMode === 'upsert' ? batchApi.upsertWithHttpInfo({ inputs }) : batchApi.updateWithHttpInfo({ inputs })) as never,
  );
  if (outcome.kind === 'ok') return collect(contacts, outcome.body, result);
  const cause = configurationCause(outcome, own);
  if (cause) throw new CrmPropertyInvalid(cause.name, cause.code, cause.message);
  const missing = notFoundIds(outcome.category, outcome.context);
  if (outcome.status === 404 && missing.size) {
    const [absent, rest] = partition(contacts, (c) => missing.has(c.email));
    if (absent.length) {
      result.notInCrm.push(...absent);
      return sendInto(ctx, sink, own, rest, result);
    }
  }
  if (contacts.length === 1) {
    result.failed.push({ contact: contacts[0]!, reason: `HubSpot ${outcome.status}: ${outcome.message}` });
    return;
  }
  const half = Math.ceil(contacts.length / 2);
  await sendInto(ctx, sink, own, contacts.slice(0, half), result);
  await sendInto(ctx, sink, own, contacts.slice(half), result);
}

/**
 * The property problem that makes HubSpot refuse every batch, read from the rejection's `errors[]` (code
 * and `context.propertyName`) and from the JSON list HubSpot puts in a VALIDATION_ERROR's message:
 * PROPERTY_DOESNT_EXIST for any property, or any refusal of a value of one of the sink's properties (`own`).
 */
export function configurationCause(r: Pick<Rejection, 'category' | 'message' | 'errors'>, own: ReadonlySet<string>): { name: string; code: string; message: string } | undefined {
  const problems = propertyProblems(r);
  const found = problems.find((p) => p.code === 'PROPERTY_DOESNT_EXIST') ?? problems.find((p) => own.has(p.name));
  // Never HubSpot's whole message as a fallback: beside this property it may quote a contact's email.
  return found && { ...found, message: found.message || found.code };
}

function propertyProblems(r: Pick<Rejection, 'message' | 'errors'>): Array<{ name: string; code: string; message: string }> {
  const fromErrors = r.errors.flatMap((e: HubspotErrorDetail) => {
    const name = e.context?.['propertyName']?.[0];
    return name && e.code ? [{ name, code: e.code, message: e.message ?? '' }] : [];
  });
  const list = /Property values were not valid: (\[.*\])\s*$/s.exec(r.message)?.[1];
  let fromMessage: Array<{ name: string; code: string; message: string }> = [];
  if (list) {
    try {
      fromMessage = (JSON.parse(list) as Array<{ name?: string; error?: string; message?: string }>).flatMap((p) =>
        p.name && p.error ? [{ name: p.name, code: p.error, message: p.message ?? '' }] : []);
    } catch {
      // HubSpot's message is not always JSON after the prefix; errors[] still counts.
    }
  }
  return [...fromErrors, ...fromMessage];
}

/** Lower-cased ids an OBJECT_NOT_FOUND error names (`context.ids`): emails in update mode. */
function notFoundIds(category: string | undefined, context: Record<string, string[]> | undefined): Set<string> {
  return new Set(category === 'OBJECT_NOT_FOUND' ? (context?.['ids'] ?? []).map((id) => id.trim().toLowerCase()) : []);
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((i) => !test(i))];
}

/** Matches HubSpot's results and errors back to the contacts sent (results come in no set order). */
function collect(contacts: OutboxContact[], body: BatchBody, result: SendResult): void {
  const ids = new Map<string, string | undefined>();
  for (const r of body.results ?? []) {
    const email = r.properties?.['email']?.toLowerCase();
    if (email) ids.set(email, r.id);
  }
  const errors = body.errors ?? [];
  const absent = new Set(errors.flatMap((e) => [...notFoundIds(e.category, e.context)]));
  const reasonFor = (email: string) => {
    const match = errors.find((e) => Object.values(e.context ?? {}).some((v) => v.map((x) => x.toLowerCase()).includes(email)) || e.message?.toLowerCase().includes(email));
    return `HubSpot: ${match?.message ?? errors[0]?.message ?? 'no result returned for this contact'}`;
  };
  for (const contact of contacts) {
    if (ids.has(contact.email)) result.accepted.push({ contact, hubspotId: ids.get(contact.email) });
    else if (absent.has(contact.email)) result.notInCrm.push(contact);
    else result.failed.push({ contact, reason: reasonFor(contact.email) });
  }
}

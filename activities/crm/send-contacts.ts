import type { Client } from '@hubspot/api-client';
import type { OutboxContact } from '../sql/crm-outbox.js';
import { contactProperties } from './contact-properties.js';
import { callWithBudget, type BudgetedCaller } from './hubspot.js';

/** What sending one batch came to, including every call it took (splits and 429 retries). */
export interface SendResult {
  accepted: Array<{ contact: OutboxContact; hubspotId: string | undefined }>;
  failed: Array<{ contact: OutboxContact; reason: string }>;
  calls: number;
  rateLimited: number;
}

/** A HubSpot client with the shared budget and this activity's call counters. */
export interface SendContext extends BudgetedCaller {
  client: Client;
}

interface UpsertBody {
  results?: Array<{ id?: string; properties?: Record<string, string | null> }>;
  errors?: Array<{ message?: string; context?: Record<string, string[]> }>;
}

/**
 * Upserts contacts by email. A 207 gives per-contact failures; a batch rejected whole (400/409, as
 * HubSpot does for one bad input) is split in halves until the offending inputs stand alone, so every
 * other contact in it still goes through.
 */
export async function sendContacts(ctx: SendContext, contacts: OutboxContact[]): Promise<SendResult> {
  const before = { ...ctx.counters };
  const result: SendResult = { accepted: [], failed: [], calls: 0, rateLimited: 0 };
  await sendInto(ctx, contacts, result);
  result.calls = ctx.counters.calls - before.calls;
  result.rateLimited = ctx.counters.rateLimited - before.rateLimited;
  return result;
}

async function sendInto(ctx: SendContext, contacts: OutboxContact[], result: SendResult): Promise<void> {
  const inputs = contacts.map((c) => ({
    idProperty: 'email',
    id: c.email,
    properties: contactProperties({ email: c.email, score: c.score, bucket: c.bucket, modelVersion: c.model_version, scoredAt: c.scored_at }),
  }));
  const outcome = await callWithBudget<UpsertBody>(ctx, () => ctx.client.crm.contacts.batchApi.upsertWithHttpInfo({ inputs }) as never);
  if (outcome.kind === 'ok') return collect(contacts, outcome.body, result);
  if (contacts.length === 1) {
    result.failed.push({ contact: contacts[0]!, reason: `HubSpot ${outcome.status}: ${outcome.message}` });
    return;
  }
  const half = Math.ceil(contacts.length / 2);
  await sendInto(ctx, contacts.slice(0, half), result);
  await sendInto(ctx, contacts.slice(half), result);
}

/** Matches HubSpot's results and errors back to the contacts sent (results come in no set order). */
function collect(contacts: OutboxContact[], body: UpsertBody, result: SendResult): void {
  const ids = new Map<string, string | undefined>();
  for (const r of body.results ?? []) {
    const email = r.properties?.['email']?.toLowerCase();
    if (email) ids.set(email, r.id);
  }
  const errors = body.errors ?? [];
  const reasonFor = (email: string) => {
    const match = errors.find((e) => Object.values(e.context ?? {}).some((v) => v.map((x) => x.toLowerCase()).includes(email)) || e.message?.toLowerCase().includes(email));
    return `HubSpot: ${match?.message ?? errors[0]?.message ?? 'no result returned for this contact'}`;
  };
  for (const contact of contacts) {
    if (ids.has(contact.email)) result.accepted.push({ contact, hubspotId: ids.get(contact.email) });
    else result.failed.push({ contact, reason: reasonFor(contact.email) });
  }
}

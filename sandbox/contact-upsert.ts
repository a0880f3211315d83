import { errorReply, propertyValuesReply, standardError, validationReply, type Reply } from './errors.js';
import { batchResponse, publicContact } from './contact-view.js';
import { ok, type HubSpotRequest, type SandboxContext } from './operation.js';
import { checkPropertyValues, isEmail, stringValues } from './property-values.js';

/** HubSpot's batch limit for CRM object endpoints. */
export const BATCH_LIMIT = 100;

interface UpsertInput {
  id: string;
  idProperty?: string;
  properties: Record<string, unknown>;
}

/** Checks a batch's shape before any value: size, id property, duplicate ids. */
function checkBatch(inputs: UpsertInput[]): Reply | undefined {
  if (inputs.length > BATCH_LIMIT) return validationReply(`Batch input limit exceeded: ${inputs.length} inputs were sent, at most ${BATCH_LIMIT} are allowed.`);
  const idProperty = inputs.find((i) => i.idProperty !== 'email')?.idProperty;
  if (inputs.some((i) => i.idProperty !== 'email')) {
    return validationReply(`Unable to perform update/upsert by non-unique 0-1 property ${idProperty ?? 'hs_object_id'} in portal ID 0`);
  }
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const { id } of inputs) {
    const email = id.trim().toLowerCase();
    if (seen.has(email)) duplicates.add(email);
    seen.add(email);
  }
  if (duplicates.size) return validationReply(`Duplicate IDs found in batch input: [${[...duplicates].join(', ')}]`);
  return undefined;
}

/**
 * POST /crm/v3/objects/contacts/batch/upsert with idProperty `email`: matches case-insensitively, creates when
 * absent, refuses the whole batch for any bad value (400), and applies the failEmails / rejectBatchEmails /
 * dropWriteEmails faults. One INSERT ... ON CONFLICT statement writes the batch.
 */
export async function batchUpsert(ctx: SandboxContext, req: HubSpotRequest): Promise<Reply> {
  const startedAt = new Date();
  const { faults, stats } = ctx.state;
  stats.upsertCalls += 1;
  const inputs = (req.body as { inputs: UpsertInput[] }).inputs;
  const refused = checkBatch(inputs);
  if (refused) return refused;
  const rows = inputs.map((i) => {
    const email = i.id.trim().toLowerCase();
    return { email, properties: { ...stringValues(i.properties), email } };
  });
  const badEmails = rows.map((r) => r.email).filter((e) => !isEmail(e) || faults.rejectBatchEmails.includes(e));
  if (badEmails.length) {
    return propertyValuesReply(badEmails.map((e) => ({ name: 'email', error: 'INVALID_EMAIL', message: `Email address ${e} is invalid` })));
  }
  const definitions = new Map((await ctx.properties.list('contacts')).map((d) => [d.name, d]));
  const problems = checkPropertyValues(rows.map((r) => r.properties), definitions);
  if (problems.length) return propertyValuesReply(problems);

  const failing = rows.filter((r) => faults.failEmails.includes(r.email));
  const dropped = rows.filter((r) => faults.dropWriteEmails.includes(r.email) && !failing.includes(r));
  const toWrite = rows.filter((r) => !failing.includes(r) && !dropped.includes(r));
  const written = await ctx.contacts.upsertByEmail(toWrite);
  stats.contactsWritten += written.length;
  const existing = dropped.length ? await ctx.contacts.findByEmails(dropped.map((r) => r.email), false) : [];
  const byEmail = new Map(written.map((w) => [w.email, { ...publicContact(w, 'all'), new: w.created }]));
  for (const r of dropped) {
    const before = existing.find((e) => e.email === r.email);
    const now = new Date();
    const row = before ?? { id: String(900_000_000 + Math.floor(Math.random() * 99_999_999)), email: r.email, properties: {}, createdAt: now, updatedAt: now, archived: false };
    byEmail.set(r.email, { ...publicContact({ ...row, properties: { ...row.properties, ...r.properties }, updatedAt: now }, 'all'), new: !before });
  }
  const results = rows.flatMap((r) => byEmail.get(r.email) ?? []);
  const errors = failing.map((r) =>
    standardError('VALIDATION_ERROR', `Contact ${r.email} could not be upserted (sandbox failEmails fault).`, { ids: [r.email] }),
  );
  const { status, body } = batchResponse(results, errors, startedAt);
  return ok(body, status);
}

/** HubSpot's 409 for creating a contact whose email exists. */
export function contactExistsReply(id: string): Reply {
  return errorReply(409, 'CONFLICT', `Contact already exists. Existing ID: ${id}`);
}

import { propertyValuesReply, standardError, validationReply, type Reply } from './errors.js';
import { batchResponse, publicContact } from './contact-view.js';
import { BATCH_LIMIT } from './contact-upsert.js';
import { ok, type HubSpotRequest, type SandboxContext } from './operation.js';
import { checkPropertyValues, isEmail, stringValues } from './property-values.js';

/** HubSpot's message for ids of a batch that name no record (batch read and batch update). */
export const NOT_FOUND_MESSAGE = 'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.';

interface UpdateInput {
  id: string;
  idProperty?: string;
  properties: Record<string, unknown>;
}

/** The key an update input names: a lower-cased email with idProperty `email`, else a record id. */
function keyOf(input: UpdateInput): string {
  return input.idProperty === 'email' ? input.id.trim().toLowerCase() : input.id.trim();
}

/** Checks a batch's shape before any value: size, one supported id property, duplicate ids. */
function checkBatch(inputs: UpdateInput[]): Reply | undefined {
  if (inputs.length > BATCH_LIMIT) return validationReply(`Batch input limit exceeded: ${inputs.length} inputs were sent, at most ${BATCH_LIMIT} are allowed.`);
  const idProperties = new Set(inputs.map((i) => i.idProperty));
  const unsupported = [...idProperties].find((p) => p !== undefined && p !== 'email');
  if (unsupported !== undefined || idProperties.size > 1) {
    return validationReply(`Unable to perform update/upsert by non-unique 0-1 property ${unsupported ?? 'hs_object_id'} in portal ID 0`);
  }
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const key of inputs.map(keyOf)) {
    if (seen.has(key)) duplicates.add(key);
    seen.add(key);
  }
  if (duplicates.size) return validationReply(`Duplicate IDs found in batch input: [${[...duplicates].join(', ')}]`);
  return undefined;
}

/**
 * POST /crm/v3/objects/contacts/batch/update, by record id or with idProperty `email` (case-insensitive):
 * writes only contacts that exist and never creates one. Any bad value refuses the whole batch (400
 * VALIDATION_ERROR, PROPERTY_DOESNT_EXIST for an unknown or archived property); ids that name no contact
 * come back as one 207 OBJECT_NOT_FOUND error listing them in `context.ids`, as HubSpot does. The
 * failEmails and rejectBatchEmails faults apply as for batch upsert. One UPDATE statement writes the batch.
 */
export async function batchUpdate(ctx: SandboxContext, req: HubSpotRequest): Promise<Reply> {
  const startedAt = new Date();
  const { faults, stats } = ctx.state;
  stats.updateCalls += 1;
  const inputs = (req.body as { inputs: UpdateInput[] }).inputs;
  const refused = checkBatch(inputs);
  if (refused) return refused;
  const byEmail = inputs[0]?.idProperty === 'email';
  const rows = inputs.map((i) => {
    const properties = stringValues(i.properties);
    if (properties['email'] !== undefined) properties['email'] = properties['email'].trim().toLowerCase();
    return { id: keyOf(i), sentAs: i.id, properties };
  });
  const badEmails = rows.flatMap((r) => {
    const email = r.properties['email'] ?? (byEmail ? r.id : undefined);
    return email !== undefined && (!isEmail(email) || faults.rejectBatchEmails.includes(email)) ? [email] : [];
  });
  if (badEmails.length) {
    return propertyValuesReply(badEmails.map((e) => ({ name: 'email', error: 'INVALID_EMAIL', message: `Email address ${e} is invalid` })));
  }
  const definitions = new Map((await ctx.properties.list('contacts')).map((d) => [d.name, d]));
  const problems = checkPropertyValues(rows.map((r) => r.properties), definitions);
  if (problems.length) return propertyValuesReply(problems);

  const failing = rows.filter((r) => byEmail && faults.failEmails.includes(r.id));
  const toWrite = rows.filter((r) => !failing.includes(r));
  const written = await ctx.contacts.updateExisting(byEmail ? 'email' : 'id', toWrite);
  stats.contactsWritten += written.length;
  const found = new Set(written.map((w) => (byEmail ? w.email : w.id)));
  const missing = toWrite.filter((r) => !found.has(r.id)).map((r) => r.sentAs);
  const errors = [
    ...failing.map((r) => standardError('VALIDATION_ERROR', `Contact ${r.id} could not be updated (sandbox failEmails fault).`, { ids: [r.sentAs] })),
    ...(missing.length ? [standardError('OBJECT_NOT_FOUND', NOT_FOUND_MESSAGE, { ids: missing })] : []),
  ];
  const { status, body } = batchResponse(written.map((w) => publicContact(w, 'all')), errors, startedAt);
  return ok(body, status);
}

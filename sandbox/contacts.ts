import { errorReply, propertyValuesReply, standardError, validationReply, type Reply } from './errors.js';
import { SCOPES } from './auth.js';
import { batchResponse, publicContact } from './contact-view.js';
import { BATCH_LIMIT, batchUpsert, contactExistsReply } from './contact-upsert.js';
import { batchUpdate, NOT_FOUND_MESSAGE } from './contact-update.js';
import type { ContactRow } from './contact-store.js';
import { ok, queryFlag, queryList, type HubSpotRequest, type SandboxContext, type SandboxOperation } from './operation.js';
import { checkPropertyValues, stringValues } from './property-values.js';


function unsupportedIdProperty(idProperty: string): Reply {
  return validationReply(`Unable to perform lookup by non-unique 0-1 property ${idProperty} in portal ID 0`);
}

/** POST .../batch/read by record id or by `idProperty: 'email'`; ids not found come back as one 207 error. */
async function batchRead(ctx: SandboxContext, req: HubSpotRequest): Promise<Reply> {
  const startedAt = new Date();
  const body = req.body as { inputs: Array<{ id: string }>; properties: string[]; idProperty?: string };
  if (body.inputs.length > BATCH_LIMIT) return validationReply(`Batch input limit exceeded: ${body.inputs.length} inputs were sent, at most ${BATCH_LIMIT} are allowed.`);
  const byEmail = body.idProperty === 'email';
  if (body.idProperty && !byEmail && body.idProperty !== 'hs_object_id') return unsupportedIdProperty(body.idProperty);
  const ids = [...new Set(body.inputs.map((i) => (byEmail ? i.id.trim().toLowerCase() : i.id.trim())))];
  const archived = queryFlag(req.query, 'archived');
  const rows = byEmail ? await ctx.contacts.findByEmails(ids, archived) : await ctx.contacts.findByIds(ids, archived);
  const found = new Map(rows.map((r) => [byEmail ? r.email : r.id, r]));
  const missing = ids.filter((id) => !found.has(id));
  const results = ids.flatMap((id) => {
    const row = found.get(id);
    return row ? [publicContact(row, body.properties)] : [];
  });
  const errors = missing.length ? [standardError('OBJECT_NOT_FOUND', NOT_FOUND_MESSAGE, { ids: missing })] : [];
  const { status, body: out } = batchResponse(results, errors, startedAt);
  return ok(out, status);
}

/** GET /crm/v3/objects/contacts: pages in id order; `paging.next.after` is the cursor of the next page. */
async function getPage(ctx: SandboxContext, req: HubSpotRequest): Promise<Reply> {
  const limit = Number(req.query.get('limit') ?? '10');
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) return validationReply(`limit must be between 1 and 100, got ${req.query.get('limit')}`);
  const after = req.query.get('after') ?? undefined;
  if (after !== undefined && !/^\d{1,18}$/.test(after)) return validationReply(`Invalid paging cursor after=${after}`);
  const rows = await ctx.contacts.page(after, limit + 1, queryFlag(req.query, 'archived'));
  const page = rows.slice(0, limit);
  const select = queryList(req.query, 'properties');
  const body: Record<string, unknown> = { results: page.map((r) => publicContact(r, select)) };
  const last = page[page.length - 1];
  if (rows.length > limit && last) body['paging'] = { next: { after: last.id, link: `?after=${last.id}` } };
  return ok(body);
}

/** GET /crm/v3/objects/contacts/{contactId}, by record id or with `idProperty=email`; 404 when absent. */
async function getById(ctx: SandboxContext, req: HubSpotRequest): Promise<Reply> {
  const contactId = req.params['contactId'] ?? '';
  const idProperty = req.query.get('idProperty');
  if (idProperty && idProperty !== 'email' && idProperty !== 'hs_object_id') return unsupportedIdProperty(idProperty);
  const archived = queryFlag(req.query, 'archived');
  const rows: ContactRow[] = idProperty === 'email'
    ? await ctx.contacts.findByEmails([contactId.trim().toLowerCase()], archived)
    : await ctx.contacts.findByIds([contactId], archived);
  const row = rows[0];
  if (!row) return errorReply(404, 'OBJECT_NOT_FOUND', 'resource not found', { context: { id: [contactId] } });
  return ok(publicContact(row, queryList(req.query, 'properties')));
}

/** POST /crm/v3/objects/contacts: creates one contact; 409 CONFLICT when its email exists. */
async function create(ctx: SandboxContext, req: HubSpotRequest): Promise<Reply> {
  const properties = stringValues((req.body as { properties: Record<string, unknown> }).properties);
  if (properties['email']) properties['email'] = properties['email'].trim().toLowerCase();
  const definitions = new Map((await ctx.properties.list('contacts')).map((d) => [d.name, d]));
  const problems = checkPropertyValues([properties], definitions);
  if (problems.length) return propertyValuesReply(problems);
  const email = properties['email'] || null;
  try {
    const row = await ctx.contacts.insert(email, properties);
    ctx.state.stats.contactsWritten += 1;
    return ok(publicContact(row, 'all'), 201);
  } catch (err) {
    if ((err as { code?: string }).code !== '23505' || !email) throw err;
    const [existing] = await ctx.contacts.findByEmails([email], false);
    return contactExistsReply(existing?.id ?? 'unknown');
  }
}

/** The contacts operations the sandbox implements, keyed by the spec's operationId. */
export function contactOperations(ctx: SandboxContext): Record<string, SandboxOperation> {
  return {
    'post-/crm/v3/objects/contacts/batch/upsert_upsert': { name: 'contacts.batchUpsert', scope: SCOPES.contactsWrite, handle: (r) => batchUpsert(ctx, r) },
    'post-/crm/v3/objects/contacts/batch/update_update': { name: 'contacts.batchUpdate', scope: SCOPES.contactsWrite, handle: (r) => batchUpdate(ctx, r) },
    'post-/crm/v3/objects/contacts/batch/read_read': { name: 'contacts.batchRead', scope: SCOPES.contactsRead, handle: (r) => batchRead(ctx, r) },
    'get-/crm/v3/objects/contacts_getPage': { name: 'contacts.getPage', scope: SCOPES.contactsRead, handle: (r) => getPage(ctx, r) },
    'get-/crm/v3/objects/contacts/{contactId}_getById': { name: 'contacts.getById', scope: SCOPES.contactsRead, handle: (r) => getById(ctx, r) },
    'post-/crm/v3/objects/contacts_create': { name: 'contacts.create', scope: SCOPES.contactsWrite, handle: (r) => create(ctx, r) },
  };
}

import { SCOPES } from './auth.js';
import { errorReply, validationReply, type Reply } from './errors.js';
import { ok, queryFlag, queryList, type HubSpotRequest, type SandboxContext, type SandboxOperation } from './operation.js';
import type { PropertyDefinition, PropertyGroupDefinition } from './standard-properties.js';

/** Only contacts exist in the sandbox; `0-1` is HubSpot's object type id for contacts. */
function objectTypeOf(req: HubSpotRequest): string | Reply {
  const objectType = req.params['objectType'] ?? '';
  if (objectType === 'contacts' || objectType === 'contact' || objectType === '0-1') return 'contacts';
  return validationReply(`Unable to infer object type from: ${objectType}`);
}

const NAME = /^[a-z][a-z0-9_]*$/;

async function getAll(ctx: SandboxContext, req: HubSpotRequest): Promise<Reply> {
  const objectType = objectTypeOf(req);
  if (typeof objectType !== 'string') return objectType;
  const only = new Set(queryList(req.query, 'properties'));
  const all = await ctx.properties.list(objectType, queryFlag(req.query, 'archived'));
  return ok({ results: only.size ? all.filter((p) => only.has(p.name)) : all });
}

async function getByName(ctx: SandboxContext, req: HubSpotRequest): Promise<Reply> {
  const objectType = objectTypeOf(req);
  if (typeof objectType !== 'string') return objectType;
  const name = req.params['propertyName'] ?? '';
  const found = await ctx.properties.get(objectType, name, queryFlag(req.query, 'archived'));
  return found ? ok(found) : errorReply(404, 'OBJECT_NOT_FOUND', `Unable to find property ${name} on ${objectType}`);
}

/**
 * DELETE /crm/v3/properties/{objectType}/{propertyName}: archives it (204). As in HubSpot the name stays
 * taken (creating it again answers 409) and writing a value to it answers PROPERTY_DOESNT_EXIST.
 */
async function archive(ctx: SandboxContext, req: HubSpotRequest): Promise<Reply> {
  const objectType = objectTypeOf(req);
  if (typeof objectType !== 'string') return objectType;
  const name = req.params['propertyName'] ?? '';
  const definition = await ctx.properties.get(objectType, name);
  if (definition?.modificationMetadata?.archivable === false) return validationReply(`Property ${name} is a HubSpot default property and cannot be archived.`);
  return (await ctx.properties.archive(objectType, name))
    ? { status: 204 }
    : errorReply(404, 'OBJECT_NOT_FOUND', `Unable to find property ${name} on ${objectType}`);
}

/** POST /crm/v3/properties/{objectType}: the group must exist; 409 CONFLICT when the name is taken. */
async function create(ctx: SandboxContext, req: HubSpotRequest): Promise<Reply> {
  const objectType = objectTypeOf(req);
  if (typeof objectType !== 'string') return objectType;
  const input = req.body as PropertyDefinition & { options?: PropertyDefinition['options'] };
  if (!NAME.test(input.name)) {
    return validationReply(`Property name ${input.name} is invalid: it must start with a lower-case letter and contain only lower-case letters, digits and underscores.`);
  }
  if (!(await ctx.properties.listGroups(objectType)).some((g) => g.name === input.groupName)) {
    return validationReply(`Property group ${input.groupName} does not exist.`);
  }
  if (input.type === 'enumeration' && !input.options?.length) return validationReply(`Enumeration property ${input.name} needs at least one option.`);
  const now = new Date().toISOString();
  const definition: PropertyDefinition = {
    displayOrder: -1, hasUniqueValue: false, hidden: false, formField: false, externalOptions: false,
    ...input,
    description: input.description ?? '',
    options: input.options ?? [],
    calculated: false, archived: false, createdAt: now, updatedAt: now,
    modificationMetadata: { archivable: true, readOnlyDefinition: false, readOnlyValue: false },
  };
  if (!(await ctx.properties.insert(objectType, definition))) {
    return errorReply(409, 'CONFLICT', `A property named '${input.name}' already exists.`, { context: { name: [input.name] } });
  }
  return ok(definition, 201);
}

async function getGroups(ctx: SandboxContext, req: HubSpotRequest): Promise<Reply> {
  const objectType = objectTypeOf(req);
  if (typeof objectType !== 'string') return objectType;
  return ok({ results: await ctx.properties.listGroups(objectType) });
}

async function getGroup(ctx: SandboxContext, req: HubSpotRequest): Promise<Reply> {
  const objectType = objectTypeOf(req);
  if (typeof objectType !== 'string') return objectType;
  const name = req.params['groupName'] ?? '';
  const found = (await ctx.properties.listGroups(objectType)).find((g) => g.name === name);
  return found ? ok(found) : errorReply(404, 'OBJECT_NOT_FOUND', `Unable to find property group ${name} on ${objectType}`);
}

/** POST /crm/v3/properties/{objectType}/groups: 409 CONFLICT when the name is taken. */
async function createGroup(ctx: SandboxContext, req: HubSpotRequest): Promise<Reply> {
  const objectType = objectTypeOf(req);
  if (typeof objectType !== 'string') return objectType;
  const input = req.body as { name: string; label: string; displayOrder?: number };
  if (!NAME.test(input.name)) return validationReply(`Property group name ${input.name} is invalid.`);
  const group: PropertyGroupDefinition = { name: input.name, label: input.label, displayOrder: input.displayOrder ?? -1, archived: false };
  if (!(await ctx.properties.insertGroup(objectType, group))) {
    return errorReply(409, 'CONFLICT', `A property group named '${input.name}' already exists.`, { context: { name: [input.name] } });
  }
  return ok(group, 201);
}

/** The properties operations the sandbox implements, keyed by the spec's operationId. */
export function propertyOperations(ctx: SandboxContext): Record<string, SandboxOperation> {
  const read = SCOPES.schemasRead;
  const write = SCOPES.schemasWrite;
  const op = (name: string, scope: typeof read | typeof write, fn: (c: SandboxContext, r: HubSpotRequest) => Promise<Reply>): SandboxOperation =>
    ({ name, scope, handle: (r) => fn(ctx, r) });
  return {
    'get-/crm/v3/properties/{objectType}_getAll': op('properties.getAll', read, getAll),
    'post-/crm/v3/properties/{objectType}_create': op('properties.create', write, create),
    'get-/crm/v3/properties/{objectType}/{propertyName}_getByName': op('properties.getByName', read, getByName),
    'delete-/crm/v3/properties/{objectType}/{propertyName}_archive': op('properties.archive', write, archive),
    'get-/crm/v3/properties/{objectType}/groups_getAll': op('groups.getAll', read, getGroups),
    'post-/crm/v3/properties/{objectType}/groups_create': op('groups.create', write, createGroup),
    'get-/crm/v3/properties/{objectType}/groups/{groupName}_getByName': op('groups.getByName', read, getGroup),
  };
}

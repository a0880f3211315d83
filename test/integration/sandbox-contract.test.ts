import { randomUUID } from 'node:crypto';
import { Client } from '@hubspot/api-client';
import { PropertyCreateFieldTypeEnum, PropertyCreateTypeEnum } from '@hubspot/api-client/lib/codegen/crm/properties/index.js';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { makeLogger } from '../../lib/logger.js';
import { createDatabaseIfMissing } from '../../services/embedded-postgres.js';
import { SANDBOX_TOKEN, SCOPES, startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox/server.js';
import { loadHubSpotContract, type HubSpotContract } from '../support/hubspot-contract.js';

const OP = {
  upsert: 'post-/crm/v3/objects/contacts/batch/upsert_upsert',
  update: 'post-/crm/v3/objects/contacts/batch/update_update',
  read: 'post-/crm/v3/objects/contacts/batch/read_read',
  page: 'get-/crm/v3/objects/contacts_getPage',
  byId: 'get-/crm/v3/objects/contacts/{contactId}_getById',
  create: 'post-/crm/v3/objects/contacts_create',
  properties: 'get-/crm/v3/properties/{objectType}_getAll',
  createProperty: 'post-/crm/v3/properties/{objectType}_create',
  property: 'get-/crm/v3/properties/{objectType}/{propertyName}_getByName',
  groups: 'get-/crm/v3/properties/{objectType}/groups_getAll',
  createGroup: 'post-/crm/v3/properties/{objectType}/groups_create',
  archiveProperty: 'delete-/crm/v3/properties/{objectType}/{propertyName}_archive',
} as const;

const READ_ONLY_TOKEN = 'read-only-token';
const log = makeLogger(process.env['LOG_LEVEL'] ?? 'warn', 'sandbox-test');

let databaseUrl: string;
let contract: HubSpotContract;
let sandbox: Sandbox;
let client: Client;
let seq = 0;
/** A fresh address per use, in mixed case so case-insensitive matching is exercised everywhere. */
const newEmail = (tag: string) => `${tag}-${++seq}-${randomUUID().slice(0, 8)}@Example.COM`;

interface Answer {
  status: number;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
  headers: Headers;
}

/** A raw HTTP call whose answer must conform to HubSpot's spec for `operationId`, whatever its status. */
async function call(on: Sandbox, operationId: string, method: string, path: string, body?: unknown, token: string | null = SANDBOX_TOKEN): Promise<Answer> {
  const res = await fetch(`${on.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  expect(contract.problems(operationId, res.status, json), `${method} ${path} answered ${res.status} ${text.slice(0, 300)}`).toEqual([]);
  return { status: res.status, body: json, headers: res.headers };
}

const upsert = (emails: string[], properties: Record<string, unknown> = {}, on = sandbox) =>
  call(on, OP.upsert, 'POST', '/crm/v3/objects/contacts/batch/upsert', {
    inputs: emails.map((id) => ({ id, idProperty: 'email', properties })),
  });
const readByEmail = (emails: string[], properties: string[] = [], on = sandbox) =>
  call(on, OP.read, 'POST', '/crm/v3/objects/contacts/batch/read', {
    idProperty: 'email', inputs: emails.map((id) => ({ id })), properties, propertiesWithHistory: [],
  });

/** The status and HubSpot error body of a call the api-client rejected. */
async function rejection(p: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  expect(err).toHaveProperty('code');
  return err as { code: number; body: Record<string, unknown> };
}

async function freshSandbox(opts: Partial<SandboxOptions> = {}): Promise<Sandbox> {
  return startSandbox({ databaseUrl, log, schema: `s_${randomUUID().replace(/-/g, '').slice(0, 12)}`, ...opts });
}

beforeAll(async () => {
  const database = `sandbox_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const adminUrl = inject('adminDatabaseUrl');
  await createDatabaseIfMissing(adminUrl, database);
  databaseUrl = adminUrl.replace(/\/[^/]+$/, `/${database}`);
  contract = await loadHubSpotContract();
  sandbox = await startSandbox({
    port: 0, databaseUrl, log,
    tokens: [
      { token: SANDBOX_TOKEN, scopes: Object.values(SCOPES) },
      { token: READ_ONLY_TOKEN, scopes: [SCOPES.contactsRead, SCOPES.schemasRead] },
    ],
  });
  client = new Client({ accessToken: SANDBOX_TOKEN, basePath: sandbox.url, numberOfApiCallRetries: 0 });
});

afterAll(async () => {
  await sandbox?.stop();
});

beforeEach(() => {
  sandbox.resetFaults();
  sandbox.resetStats();
});

describe('contacts batch upsert', () => {
  it('creates a contact on the first upsert and updates the same one on the second, matching emails case-insensitively', async () => {
    const email = newEmail('upsert');
    const first = await client.crm.contacts.batchApi.upsert({ inputs: [{ id: email, idProperty: 'email', properties: { firstname: 'Ada' } }] });
    expect(first.results).toHaveLength(1);
    expect(first.results[0]).toMatchObject({ _new: true, archived: false, properties: { email: email.toLowerCase(), firstname: 'Ada' } });

    const second = await client.crm.contacts.batchApi.upsert({
      inputs: [{ id: email.toUpperCase(), idProperty: 'email', properties: { lastname: 'Lovelace' } }],
    });
    expect(second.results[0]).toMatchObject({ id: first.results[0]!.id, _new: false, properties: { firstname: 'Ada', lastname: 'Lovelace' } });
    expect(second.results[0]!.updatedAt.getTime()).toBeGreaterThanOrEqual(first.results[0]!.updatedAt.getTime());
  });

  it('answers the spec’s 200 body with id, properties, timestamps, archived and new for every input', async () => {
    const emails = [newEmail('shape'), newEmail('shape')];
    const res = await upsert(emails, { lifecyclestage: 'lead' });
    expect(res.status).toBe(200);
    expect(res.body['status']).toBe('COMPLETE');
    expect(res.body['results'].map((r: { properties: { email: string } }) => r.properties.email).sort()).toEqual(emails.map((e) => e.toLowerCase()).sort());
    for (const r of res.body['results']) expect(Object.keys(r)).toEqual(expect.arrayContaining(['id', 'properties', 'createdAt', 'updatedAt', 'archived', 'new']));
  });

  it('stores numbers as strings and batch read returns the stored string values', async () => {
    const email = newEmail('numbers');
    expect((await upsert([email], { firstname: 'Grace', phone: 5550100 })).status).toBe(200);
    const read = await client.crm.contacts.batchApi.read({
      idProperty: 'email', inputs: [{ id: email.toLowerCase() }], properties: ['firstname', 'phone'], propertiesWithHistory: [],
    });
    expect(read.results).toHaveLength(1);
    expect(read.results[0]!.properties).toMatchObject({ firstname: 'Grace', phone: '5550100' });
    expect(read.results[0]!.properties).not.toHaveProperty('lastname');
  });

  it('refuses the whole batch with 400 PROPERTY_DOESNT_EXIST for an unknown property and writes nothing', async () => {
    const good = newEmail('unknown-prop');
    const res = await call(sandbox, OP.upsert, 'POST', '/crm/v3/objects/contacts/batch/upsert', {
      inputs: [{ id: good, idProperty: 'email', properties: { firstname: 'x' } }, { id: newEmail('unknown-prop'), idProperty: 'email', properties: { foo: 'bar' } }],
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect(res.body['message']).toMatch(/^Property values were not valid: /);
    const detail = JSON.parse(String(res.body['message']).replace('Property values were not valid: ', ''));
    expect(detail).toEqual([expect.objectContaining({ isValid: false, error: 'PROPERTY_DOESNT_EXIST', name: 'foo', message: 'Property "foo" does not exist' })]);
    expect((await readByEmail([good])).status).toBe(207);
  });

  it('refuses more than 100 inputs with 400 VALIDATION_ERROR', async () => {
    const emails = Array.from({ length: 101 }, () => newEmail('big'));
    const res = await upsert(emails);
    expect(res.status).toBe(400);
    expect(res.body['category']).toBe('VALIDATION_ERROR');
    expect((await readByEmail(emails.slice(0, 100))).body['results']).toHaveLength(0);
  });

  it('refuses a batch naming the same email twice, whatever its case', async () => {
    const email = newEmail('dup');
    const { code, body } = await rejection(client.crm.contacts.batchApi.upsert({
      inputs: [{ id: email, idProperty: 'email', properties: {} }, { id: email.toLowerCase(), idProperty: 'email', properties: {} }],
    }));
    expect(code).toBe(400);
    expect(body).toMatchObject({ category: 'VALIDATION_ERROR', message: `Duplicate IDs found in batch input: [${email.toLowerCase()}]` });
  });

  it('refuses writes to the calculated hubspotscore with READ_ONLY_VALUE', async () => {
    const res = await upsert([newEmail('score')], { hubspotscore: '99' });
    expect(res.status).toBe(400);
    expect(res.body['category']).toBe('VALIDATION_ERROR');
    expect(res.body['message']).toContain('"error":"READ_ONLY_VALUE"');
    expect(res.body['message']).toContain('"name":"hubspotscore"');
  });

  it('refuses a body that does not follow the spec, and one that is not JSON, with VALIDATION_ERROR', async () => {
    const missing = await call(sandbox, OP.upsert, 'POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [{ idProperty: 'email', properties: {} }] });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ category: 'VALIDATION_ERROR' });
    expect(missing.body['message']).toContain('id');
    const broken = await call(sandbox, OP.upsert, 'POST', '/crm/v3/objects/contacts/batch/upsert', '{"inputs": [');
    expect(broken.status).toBe(400);
    expect(broken.body['category']).toBe('VALIDATION_ERROR');
  });

  it('refuses an upsert keyed by a non-unique property', async () => {
    const res = await call(sandbox, OP.upsert, 'POST', '/crm/v3/objects/contacts/batch/upsert', {
      inputs: [{ id: 'Ada', idProperty: 'firstname', properties: {} }],
    });
    expect(res.status).toBe(400);
    expect(res.body['message']).toContain('non-unique 0-1 property firstname');
  });
});

const updateByEmail = (emails: string[], properties: Record<string, unknown> = {}, on = sandbox) =>
  call(on, OP.update, 'POST', '/crm/v3/objects/contacts/batch/update', {
    inputs: emails.map((id) => ({ id, idProperty: 'email', properties })),
  });

describe('contacts batch update', () => {
  it('updates contacts found by email, case-insensitively, with the spec’s 200 body and creates none', async () => {
    const emails = [newEmail('update'), newEmail('update')];
    await upsert(emails, { firstname: 'Ada' });
    const res = await updateByEmail(emails.map((e) => e.toUpperCase()), { lastname: 'Lovelace' });
    expect(res.status).toBe(200);
    expect(res.body['status']).toBe('COMPLETE');
    expect(res.body).not.toHaveProperty('errors');
    expect(res.body['results'].map((r: { properties: Record<string, string> }) => [r.properties['email'], r.properties['firstname'], r.properties['lastname']]).sort())
      .toEqual(emails.map((e) => [e.toLowerCase(), 'Ada', 'Lovelace']).sort());
    expect(sandbox.stats()).toMatchObject({ updateCalls: 1, upsertCalls: 1, contactsWritten: 4 });
  });

  it('answers 207 with one OBJECT_NOT_FOUND error listing the emails that name no contact, updates the others, creates nothing', async () => {
    const [known, unknownA, unknownB] = [newEmail('update-known'), newEmail('update-missing'), newEmail('update-missing')];
    await upsert([known]);
    const res = await updateByEmail([known, unknownA, unknownB], { firstname: 'Grace' });
    expect(res.status).toBe(207);
    expect(res.body['results']).toHaveLength(1);
    expect(res.body['results'][0].properties).toMatchObject({ email: known.toLowerCase(), firstname: 'Grace' });
    expect(res.body['numErrors']).toBe(1);
    expect(res.body['errors']).toEqual([expect.objectContaining({
      status: 'error', category: 'OBJECT_NOT_FOUND', context: { ids: [unknownA, unknownB] },
      message: 'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.',
    })]);
    expect((await readByEmail([unknownA, unknownB])).body['results']).toHaveLength(0);
    const none = await updateByEmail([newEmail('update-missing')]);
    expect(none.status).toBe(207);
    expect(none.body['results']).toEqual([]);
  });

  it('updates by record id without idProperty, and refuses a non-unique id property and bad values for the whole batch', async () => {
    const email = newEmail('update-id');
    const id = (await upsert([email])).body['results'][0].id as string;
    const byId = await call(sandbox, OP.update, 'POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id, properties: { firstname: 'Id' } }] });
    expect(byId.status).toBe(200);
    expect(byId.body['results'][0]).toMatchObject({ id, properties: { firstname: 'Id' } });
    const byName = await call(sandbox, OP.update, 'POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id: 'Ada', idProperty: 'firstname', properties: {} }] });
    expect(byName.status).toBe(400);
    expect(byName.body['message']).toContain('non-unique 0-1 property firstname');
    const unknownProperty = await updateByEmail([email], { no_such_property: 'x' });
    expect(unknownProperty.status).toBe(400);
    expect(unknownProperty.body).toMatchObject({ category: 'VALIDATION_ERROR', errors: [expect.objectContaining({ code: 'PROPERTY_DOESNT_EXIST', context: { propertyName: ['no_such_property'] } })] });
    expect(unknownProperty.body['message']).toContain('"error":"PROPERTY_DOESNT_EXIST"');
  });
});

describe('contacts reads', () => {
  it('reports emails it cannot find as a 207 OBJECT_NOT_FOUND error and returns the others', async () => {
    const [known, unknown] = [newEmail('read'), newEmail('read-missing')];
    await upsert([known]);
    const res = await readByEmail([known, unknown], ['email']);
    expect(res.status).toBe(207);
    expect(res.body['results']).toHaveLength(1);
    expect(res.body['numErrors']).toBe(1);
    expect(res.body['errors'][0]).toMatchObject({ category: 'OBJECT_NOT_FOUND', context: { ids: [unknown.toLowerCase()] } });
  });

  it('reads by record id', async () => {
    const email = newEmail('by-id');
    const id = (await upsert([email], { firstname: 'Id' })).body['results'][0].id as string;
    const res = await call(sandbox, OP.read, 'POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id }, { id: '999999999' }], properties: ['firstname'], propertiesWithHistory: [] });
    expect(res.status).toBe(207);
    expect(res.body['results']).toEqual([expect.objectContaining({ id, properties: expect.objectContaining({ firstname: 'Id', hs_object_id: id }) })]);
  });

  it('pages through every contact with limit and paging.next.after', async () => {
    const other = await freshSandbox();
    try {
      const emails = Array.from({ length: 7 }, () => newEmail('page'));
      await upsert(emails, { company: 'Acme' }, other);
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const res = await call(other, OP.page, 'GET', `/crm/v3/objects/contacts?limit=3&properties=email&properties=company${after ? `&after=${after}` : ''}`);
        expect(res.status).toBe(200);
        pages += 1;
        for (const r of res.body['results']) {
          expect(r.properties.company).toBe('Acme');
          seen.push(r.properties.email);
        }
        after = res.body['paging']?.next?.after;
      } while (after);
      expect(pages).toBe(3);
      expect(seen.sort()).toEqual(emails.map((e) => e.toLowerCase()).sort());
      const viaClient = await new Client({ accessToken: SANDBOX_TOKEN, basePath: other.url, numberOfApiCallRetries: 0 })
        .crm.contacts.basicApi.getPage(5, undefined, ['email']);
      expect(viaClient.results).toHaveLength(5);
      expect(viaClient.paging?.next?.after).toBeTruthy();
    } finally {
      await other.stop();
    }
  });

  it('gets one contact by id or by email with the requested properties, and 404 when absent', async () => {
    const email = newEmail('get');
    const id = (await upsert([email], { firstname: 'Get', lastname: 'One' })).body['results'][0].id as string;
    const byId = await client.crm.contacts.basicApi.getById(id, ['lastname']);
    expect(byId.properties).toMatchObject({ lastname: 'One', hs_object_id: id });
    expect(byId.properties).not.toHaveProperty('firstname');
    const byEmail = await call(sandbox, OP.byId, 'GET', `/crm/v3/objects/contacts/${encodeURIComponent(email.toUpperCase())}?idProperty=email&properties=firstname`);
    expect(byEmail.status).toBe(200);
    expect(byEmail.body).toMatchObject({ id, properties: { firstname: 'Get' } });
    const absent = await call(sandbox, OP.byId, 'GET', '/crm/v3/objects/contacts/987654321');
    expect(absent.status).toBe(404);
    expect(absent.body['category']).toBe('OBJECT_NOT_FOUND');
    expect((await rejection(client.crm.contacts.basicApi.getById('987654321'))).code).toBe(404);
  });

  it('creates one contact with POST and answers 409 CONFLICT naming the existing id for a known email', async () => {
    const email = newEmail('create');
    const created = await call(sandbox, OP.create, 'POST', '/crm/v3/objects/contacts', { properties: { email, firstname: 'New' }, associations: [] });
    expect(created.status).toBe(201);
    expect(created.body['properties']).toMatchObject({ email: email.toLowerCase(), firstname: 'New' });
    const again = await call(sandbox, OP.create, 'POST', '/crm/v3/objects/contacts', { properties: { email: email.toLowerCase() }, associations: [] });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ category: 'CONFLICT', message: `Contact already exists. Existing ID: ${created.body['id']}` });
  });
});

describe('authentication and scopes', () => {
  it('answers 401 INVALID_AUTHENTICATION without a token or with an unknown one', async () => {
    for (const token of [null, 'not-a-token']) {
      const res = await call(sandbox, OP.read, 'POST', '/crm/v3/objects/contacts/batch/read', { inputs: [], properties: [], propertiesWithHistory: [] }, token);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
      expect(res.body['message']).toContain('Authentication credentials not found.');
    }
    const viaClient = await rejection(new Client({ accessToken: 'wrong', basePath: sandbox.url, numberOfApiCallRetries: 0 }).crm.contacts.basicApi.getPage());
    expect(viaClient.code).toBe(401);
  });

  it('answers 403 MISSING_SCOPES naming the scope a token lacks, and writes nothing', async () => {
    const email = newEmail('scopes');
    const res = await call(sandbox, OP.upsert, 'POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [{ id: email, idProperty: 'email', properties: {} }] }, READ_ONLY_TOKEN);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({
      status: 'error', category: 'MISSING_SCOPES', links: { scopes: 'https://developers.hubspot.com/scopes' },
      errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: ['crm.objects.contacts.write'] } }],
    });
    expect((await readByEmail([email], [], sandbox)).status).toBe(207);
    const group = await call(sandbox, OP.createGroup, 'POST', '/crm/v3/properties/contacts/groups', { name: 'nope', label: 'Nope' }, READ_ONLY_TOKEN);
    expect(group.status).toBe(403);
    expect(group.body['errors'][0].context.requiredGranularScopes).toEqual(['crm.schemas.contacts.write']);
  });
});

describe('archived properties', () => {
  it('archives a property with DELETE (204): listed only with archived=true, its name stays taken (409), and writing it answers PROPERTY_DOESNT_EXIST', async () => {
    const fresh = await freshSandbox();
    try {
      const created = await call(fresh, OP.createProperty, 'POST', '/crm/v3/properties/contacts', { name: 'old_score', label: 'Old score', type: 'number', fieldType: 'number', groupName: 'contactinformation' });
      expect(created.status).toBe(201);
      const res = await fetch(`${fresh.url}/crm/v3/properties/contacts/old_score`, { method: 'DELETE', headers: { Authorization: `Bearer ${SANDBOX_TOKEN}` } });
      expect(res.status).toBe(204);
      expect(await res.text()).toBe('');
      const live = await call(fresh, OP.properties, 'GET', '/crm/v3/properties/contacts');
      expect(live.body['results'].map((p: { name: string }) => p.name)).not.toContain('old_score');
      const archived = await call(fresh, OP.properties, 'GET', '/crm/v3/properties/contacts?archived=true');
      expect(archived.body['results']).toEqual([expect.objectContaining({ name: 'old_score', archived: true })]);
      expect((await call(fresh, OP.property, 'GET', '/crm/v3/properties/contacts/old_score')).status).toBe(404);
      expect((await call(fresh, OP.archiveProperty, 'DELETE', '/crm/v3/properties/contacts/old_score')).status).toBe(404);
      expect((await call(fresh, OP.archiveProperty, 'DELETE', '/crm/v3/properties/contacts/email')).status).toBe(400);
      const again = await call(fresh, OP.createProperty, 'POST', '/crm/v3/properties/contacts', { name: 'old_score', label: 'Old score', type: 'number', fieldType: 'number', groupName: 'contactinformation' });
      expect(again.status).toBe(409);
      const write = await upsert([newEmail('archived')], { old_score: '1' }, fresh);
      expect(write.status).toBe(400);
      expect(write.body['message']).toContain('"error":"PROPERTY_DOESNT_EXIST"');
      expect(write.body['message']).toContain('"name":"old_score"');
    } finally {
      await fresh.stop();
    }
  });
});

describe('properties', () => {
  it('lists HubSpot’s standard contact properties, hubspotscore read-only, in group contactinformation', async () => {
    const all = await client.crm.properties.coreApi.getAll('contacts');
    const names = all.results.map((p) => p.name);
    for (const n of ['email', 'firstname', 'lastname', 'phone', 'company', 'lifecyclestage', 'createdate', 'lastmodifieddate', 'hs_object_id', 'hubspotscore']) {
      expect(names).toContain(n);
    }
    expect(all.results.find((p) => p.name === 'email')?.groupName).toBe('contactinformation');
    expect(all.results.find((p) => p.name === 'hubspotscore')).toMatchObject({ groupName: 'contactinformation', calculated: true, modificationMetadata: { readOnlyValue: true } });
    expect((await call(sandbox, OP.properties, 'GET', '/crm/v3/properties/contacts')).status).toBe(200);
    expect((await call(sandbox, OP.groups, 'GET', '/crm/v3/properties/contacts/groups')).body['results']).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'contactinformation' })]),
    );
  });

  it('creates a group and a property, answers 409 CONFLICT when either is created again, and accepts values for it', async () => {
    const group = await client.crm.properties.groupsApi.create('contacts', { name: 'scoreflow', label: 'Scoreflow', displayOrder: -1 });
    expect(group).toMatchObject({ name: 'scoreflow', archived: false });
    const groupAgain = await call(sandbox, OP.createGroup, 'POST', '/crm/v3/properties/contacts/groups', { name: 'scoreflow', label: 'Scoreflow' });
    expect(groupAgain.status).toBe(409);
    expect(groupAgain.body['category']).toBe('CONFLICT');

    const spec = { name: 'lead_score', label: 'Lead score', type: 'number', fieldType: 'number', groupName: 'scoreflow' } as const;
    const typed = { ...spec, type: PropertyCreateTypeEnum.Number, fieldType: PropertyCreateFieldTypeEnum.Number };
    const created = await client.crm.properties.coreApi.create('contacts', typed);
    expect(created).toMatchObject({ name: 'lead_score', type: 'number', groupName: 'scoreflow' });
    expect((await client.crm.properties.coreApi.getByName('contacts', 'lead_score')).label).toBe('Lead score');
    const again = await call(sandbox, OP.createProperty, 'POST', '/crm/v3/properties/contacts', spec);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ status: 'error', category: 'CONFLICT' });
    expect((await rejection(client.crm.properties.coreApi.create('contacts', typed))).code).toBe(409);

    const email = newEmail('scored');
    expect((await upsert([email], { lead_score: 0.87 })).status).toBe(200);
    expect((await readByEmail([email], ['lead_score'])).body['results'][0].properties.lead_score).toBe('0.87');
    expect((await upsert([newEmail('scored')], { lead_score: 'high' })).status).toBe(400);
  });

  it('answers 404 for an unknown property, 400 for a property in an unknown group, and 400 for object types other than contacts', async () => {
    const absent = await call(sandbox, OP.property, 'GET', '/crm/v3/properties/contacts/no_such_property');
    expect(absent.status).toBe(404);
    expect((await rejection(client.crm.properties.coreApi.getByName('contacts', 'no_such_property'))).code).toBe(404);
    const orphan = await call(sandbox, OP.createProperty, 'POST', '/crm/v3/properties/contacts', { name: 'orphan', label: 'Orphan', type: 'string', fieldType: 'text', groupName: 'no_group' });
    expect(orphan.status).toBe(400);
    const deals = await call(sandbox, OP.properties, 'GET', '/crm/v3/properties/widgets');
    expect(deals.status).toBe(400);
    expect(deals.body['message']).toBe('Unable to infer object type from: widgets');
  });
});

describe('rate limits', () => {
  it('answers 429 TEN_SECONDLY_ROLLING once the ten-second budget is spent, with HubSpot’s headers', async () => {
    const limited = await freshSandbox({ rateLimit: { perTenSeconds: 5, perDay: 1000 } });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await call(limited, OP.page, 'GET', '/crm/v3/objects/contacts');
        expect(res.status).toBe(200);
        expect(res.headers.get('x-hubspot-ratelimit-remaining')).toBe(String(4 - i));
        expect(res.headers.get('x-hubspot-ratelimit-max')).toBe('5');
        expect(res.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('10000');
        expect(res.headers.get('x-hubspot-ratelimit-daily')).toBe('1000');
        expect(res.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe(String(999 - i));
      }
      const res = await call(limited, OP.page, 'GET', '/crm/v3/objects/contacts');
      expect(res.status).toBe(429);
      expect(res.body).toMatchObject({
        status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING',
      });
      expect(res.body['correlationId']).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get('x-hubspot-ratelimit-remaining')).toBe('0');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const viaClient = await rejection(new Client({ accessToken: SANDBOX_TOKEN, basePath: limited.url, numberOfApiCallRetries: 0 }).crm.contacts.basicApi.getPage());
      expect(viaClient.code).toBe(429);
      expect(limited.stats().rateLimited).toBe(2);
    } finally {
      await limited.stop();
    }
  });

  it('answers 429 DAILY once the daily quota is spent', async () => {
    const limited = await freshSandbox({ rateLimit: { perTenSeconds: 100, perDay: 2 } });
    try {
      expect((await call(limited, OP.page, 'GET', '/crm/v3/objects/contacts')).status).toBe(200);
      expect((await call(limited, OP.page, 'GET', '/crm/v3/objects/contacts')).status).toBe(200);
      const res = await call(limited, OP.page, 'GET', '/crm/v3/objects/contacts');
      expect(res.status).toBe(429);
      expect(res.body).toMatchObject({ message: 'You have reached your daily limit.', policyName: 'DAILY', errorType: 'RATE_LIMIT' });
      expect(res.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('0');
    } finally {
      await limited.stop();
    }
  });
});

describe('faults', () => {
  it('failEmails fail one by one in a 207 with numErrors while the rest of the batch is written', async () => {
    const [ok1, bad, ok2] = [newEmail('fail'), newEmail('fail'), newEmail('fail')];
    sandbox.setFaults({ failEmails: [bad] });
    const res = await client.crm.contacts.batchApi.upsert({
      inputs: [ok1, bad, ok2].map((id) => ({ id, idProperty: 'email', properties: { firstname: 'F' } })),
    });
    expect('numErrors' in res && res.numErrors).toBe(1);
    expect('errors' in res && res.errors?.[0]?.context).toEqual({ ids: [bad.toLowerCase()] });
    expect(res.results.map((r) => r.properties['email']).sort()).toEqual([ok1, ok2].map((e) => e.toLowerCase()).sort());
    const raw = await upsert([newEmail('fail'), bad]);
    expect(raw.status).toBe(207);
    expect(raw.body['numErrors']).toBe(1);
    const read = await readByEmail([ok1, bad, ok2]);
    expect(read.body['results']).toHaveLength(2);
    expect(read.body['errors'][0].context.ids).toEqual([bad.toLowerCase()]);
  });

  it('rejectBatchEmails refuse the whole batch with 400 and nothing of it is stored', async () => {
    const [good, bad] = [newEmail('reject'), newEmail('reject')];
    sandbox.setFaults({ rejectBatchEmails: [bad.toUpperCase()] });
    const res = await upsert([good, bad]);
    expect(res.status).toBe(400);
    expect(res.body['category']).toBe('VALIDATION_ERROR');
    expect(res.body['message']).toContain('INVALID_EMAIL');
    expect((await readByEmail([good])).body['results']).toHaveLength(0);
    sandbox.resetFaults();
    expect((await upsert([good, bad])).status).toBe(200);
  });

  it('dropWriteEmails are answered as written but not stored, so a read-back finds them missing', async () => {
    const [kept, lost] = [newEmail('drop'), newEmail('drop')];
    sandbox.setFaults({ dropWriteEmails: [lost] });
    const res = await upsert([kept, lost], { firstname: 'D' });
    expect(res.status).toBe(200);
    expect(res.body['results']).toHaveLength(2);
    const read = await readByEmail([kept, lost]);
    expect(read.status).toBe(207);
    expect(read.body['results'].map((r: { properties: { email: string } }) => r.properties.email)).toEqual([kept.toLowerCase()]);
    expect(sandbox.stats().contactsWritten).toBe(1);
  });

  it('serverErrorRate answers 500, 502 or 503 with a HubSpot error body, and counts them', async () => {
    sandbox.setFaults({ serverErrorRate: 1 });
    const email = newEmail('5xx');
    for (let i = 0; i < 5; i++) {
      const res = await upsert([email]);
      expect([500, 502, 503]).toContain(res.status);
      expect(res.body).toMatchObject({ status: 'error' });
    }
    expect([500, 502, 503]).toContain((await rejection(client.crm.contacts.basicApi.getPage())).code);
    expect(sandbox.stats()).toMatchObject({ serverErrors: 6, upsertCalls: 0, contactsWritten: 0 });
    sandbox.setFaults({ serverErrorRate: 0 });
    expect((await upsert([email])).status).toBe(200);
  });

  it('force429 answers the next N requests 429 TEN_SECONDLY_ROLLING, then serves again', async () => {
    sandbox.setFaults({ force429: 2 });
    for (let i = 0; i < 2; i++) {
      const res = await call(sandbox, OP.page, 'GET', '/crm/v3/objects/contacts?limit=1');
      expect(res.status).toBe(429);
      expect(res.body['policyName']).toBe('TEN_SECONDLY_ROLLING');
    }
    expect((await call(sandbox, OP.page, 'GET', '/crm/v3/objects/contacts?limit=1')).status).toBe(200);
    expect(sandbox.stats().rateLimited).toBe(2);
  });

  it('latencyMs delays every HubSpot answer by at least that long', async () => {
    sandbox.setFaults({ latencyMs: 250 });
    const started = performance.now();
    expect((await call(sandbox, OP.page, 'GET', '/crm/v3/objects/contacts?limit=1')).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(245);
  });
});

describe('persistence, stats and admin endpoints', () => {
  it('keeps contacts and created properties across a restart on the same database', async () => {
    const schema = `restart_${randomUUID().replace(/-/g, '').slice(0, 8)}`;
    const email = newEmail('restart');
    const before = await freshSandbox({ schema });
    await upsert([email], { firstname: 'Persisted' }, before);
    await call(before, OP.createGroup, 'POST', '/crm/v3/properties/contacts/groups', { name: 'kept', label: 'Kept' });
    await before.stop();
    const after = await freshSandbox({ schema });
    try {
      const read = await readByEmail([email], ['firstname'], after);
      expect(read.status).toBe(200);
      expect(read.body['results'][0].properties.firstname).toBe('Persisted');
      expect((await call(after, OP.groups, 'GET', '/crm/v3/properties/contacts/groups')).body['results']).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'kept' })]),
      );
    } finally {
      await after.stop();
    }
  });

  it('counts requests, operations, upsert calls and contacts written, and not the admin endpoints', async () => {
    await upsert([newEmail('stats'), newEmail('stats')]);
    await upsert([newEmail('stats')]);
    await readByEmail([newEmail('stats')]);
    await call(sandbox, OP.upsert, 'POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [] }, null);
    expect((await fetch(`${sandbox.url}/_sandbox/health`)).status).toBe(200);
    expect(sandbox.stats()).toEqual({
      requests: 4,
      byOperation: { 'contacts.batchUpsert': 3, 'contacts.batchRead': 1 },
      rateLimited: 0,
      serverErrors: 0,
      contactsWritten: 3,
      upsertCalls: 2,
      updateCalls: 0,
    });
  });

  it('lets another process drive faults and read stats over /_sandbox', async () => {
    const admin = (path: string, body?: unknown) =>
      fetch(`${sandbox.url}/_sandbox/${path}`, { method: body === undefined ? 'GET' : 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
    expect(await (await admin('health')).json()).toEqual({ status: 'ok' });
    expect((await admin('faults', { force429: 1 })).status).toBe(200);
    expect((await call(sandbox, OP.page, 'GET', '/crm/v3/objects/contacts?limit=1')).status).toBe(429);
    expect(await (await admin('stats')).json()).toMatchObject({ requests: 1, rateLimited: 1 });
    expect((await admin('faults', { serverErrorRate: 2 })).status).toBe(400);
    expect((await admin('faults', { nonsense: true })).status).toBe(400);
    expect((await admin('faults', { serverErrorRate: 1 })).status).toBe(200);
    expect((await admin('reset', {})).status).toBe(200);
    expect(await (await admin('stats')).json()).toMatchObject({ requests: 0, rateLimited: 0 });
    expect((await call(sandbox, OP.page, 'GET', '/crm/v3/objects/contacts?limit=1')).status).toBe(200);
  });
});

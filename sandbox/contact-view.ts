import type { ContactRow } from './contact-store.js';
import { DEFAULT_READ_PROPERTIES } from './standard-properties.js';

/** Stored values plus the ones HubSpot derives from the record (id, create and modify dates). */
function allProperties(row: ContactRow): Record<string, string> {
  return {
    ...row.properties,
    createdate: row.createdAt.toISOString(),
    lastmodifieddate: row.updatedAt.toISOString(),
    hs_object_id: row.id,
  };
}

/**
 * A contact as HubSpot's `SimplePublicObject`. `select` names the properties to return (the system ones
 * always come back); none means HubSpot's defaults; `'all'` returns every stored one (write responses).
 * Properties without a value are left out: the spec types values as strings, never null.
 */
export function publicContact(row: ContactRow, select: string[] | 'all' = []): Record<string, unknown> {
  const values = allProperties(row);
  const names = select === 'all' ? Object.keys(values) : new Set([...(select.length ? select : DEFAULT_READ_PROPERTIES), 'createdate', 'lastmodifieddate', 'hs_object_id']);
  const properties: Record<string, string> = {};
  for (const name of names) {
    const value = values[name];
    if (value !== undefined && value !== '') properties[name] = value;
  }
  return {
    id: row.id,
    properties,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    archived: row.archived,
  };
}

/** The envelope of HubSpot's batch responses; 207 adds `errors` and `numErrors`. */
export function batchResponse(results: unknown[], errors: unknown[], startedAt: Date): { status: number; body: Record<string, unknown> } {
  const body: Record<string, unknown> = {
    status: 'COMPLETE',
    results,
    requestedAt: startedAt.toISOString(),
    startedAt: startedAt.toISOString(),
    completedAt: new Date().toISOString(),
  };
  if (errors.length === 0) return { status: 200, body };
  return { status: 207, body: { ...body, errors, numErrors: errors.length } };
}

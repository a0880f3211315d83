import type { Scope, SandboxToken } from './auth.js';
import type { ContactStore } from './contact-store.js';
import type { Reply } from './errors.js';
import type { SandboxFaults } from './faults.js';
import type { PropertyStore } from './property-store.js';
import type { SandboxStats } from './stats.js';

/** A routed, authenticated, validated HubSpot request as a handler sees it. */
export interface HubSpotRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  token: SandboxToken;
}

/** One implemented HubSpot operation: its stats name, the scope it needs and its handler. */
export interface SandboxOperation {
  name: string;
  scope: Scope;
  handle(req: HubSpotRequest): Promise<Reply>;
}

/** What handlers share: persistence and the sandbox's current faults and counters (mutable). */
export interface SandboxContext {
  contacts: ContactStore;
  properties: PropertyStore;
  state: { faults: SandboxFaults; stats: SandboxStats };
}

/** Query values for a name, repeated (`a=1&a=2`) or comma-separated (`a=1,2`) as HubSpot accepts both. */
export function queryList(query: URLSearchParams, name: string): string[] {
  return query.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

/** A boolean query flag (`archived=true`). */
export function queryFlag(query: URLSearchParams, name: string): boolean {
  return query.get(name) === 'true';
}

/** A JSON reply with status 200 (or the given one). */
export function ok(body: unknown, status = 200): Reply {
  return { status, body };
}

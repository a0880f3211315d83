import type { Client } from '@hubspot/api-client';
import { CrmUnavailable } from '../../lib/errors.js';
import { callWithBudget, type BudgetedCaller, type CrmConnection } from './hubspot.js';

/** The CRM a process is configured to send to (SCOREFLOW_CRM): HubSpot or the local sandbox, and how to reach it. */
export interface CrmEndpoint extends CrmConnection {
  kind: 'hubspot' | 'sandbox';
}

interface AccountDetails {
  portalId?: number;
}

/** `GET /account-info/v3/details` through the api-client, answered or thrown in the shape its generated APIs use. */
async function accountDetails(client: Client): Promise<{ httpStatusCode: number; data: AccountDetails }> {
  const res = await client.apiRequest({ method: 'GET', path: '/account-info/v3/details' });
  const data = (await res.json().catch(() => ({}))) as AccountDetails;
  if (!res.ok) {
    throw Object.assign(new Error(`HTTP ${res.status}`), { code: res.status, body: data, headers: Object.fromEntries(res.headers.entries()) });
  }
  return { httpStatusCode: res.status, data };
}

/**
 * Which CRM accepts this run's contacts, as recorded on the run and on each accepted contact:
 * `<kind>:<portalId>`, the portal id read from HubSpot's Account Information API through the shared budget.
 */
export async function readCrmTarget(caller: BudgetedCaller & { client: Client }, kind: CrmEndpoint['kind']): Promise<string> {
  const outcome = await callWithBudget(caller, () => accountDetails(caller.client));
  const portalId = outcome.kind === 'ok' ? outcome.body.portalId : undefined;
  if (typeof portalId !== 'number') {
    throw new CrmUnavailable(`GET /account-info/v3/details at ${caller.conn.baseUrl} answered without a portal id (${outcome.kind})`);
  }
  return `${kind}:${portalId}`;
}

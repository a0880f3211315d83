import type { Reply } from './errors.js';

/** The portal id a sandbox reports unless SandboxOptions.portalId says otherwise. */
export const DEFAULT_SANDBOX_PORTAL_ID = 1;

/** The account a sandbox reports: what `GET /account-info/v3/details` answers in HubSpot. */
export interface SandboxAccount {
  portalId: number;
}

/**
 * HubSpot's Account Information API (`GET /account-info/v3/details`), which the contacts and properties
 * specs in sandbox/spec do not cover: answers for that path, undefined for any other. The pipeline calls
 * it after authentication and rate limits, like every operation.
 */
export function accountInfoReply(method: string, pathname: string, account: SandboxAccount): Reply | undefined {
  if (method !== 'GET' || pathname.replace(/\/$/, '') !== '/account-info/v3/details') return undefined;
  return {
    status: 200,
    body: {
      portalId: account.portalId,
      accountType: 'SANDBOX',
      timeZone: 'UTC',
      companyCurrency: 'USD',
      additionalCurrencies: [],
      utcOffset: '+00:00',
      utcOffsetMilliseconds: 0,
      uiDomain: 'app.hubspot.com',
      dataHostingLocation: 'na1',
    },
  };
}

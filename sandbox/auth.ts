import { errorReply, type Reply } from './errors.js';

/** The four private-app scopes the operations scoreflow uses need. */
export const SCOPES = {
  contactsRead: 'crm.objects.contacts.read',
  contactsWrite: 'crm.objects.contacts.write',
  schemasRead: 'crm.schemas.contacts.read',
  schemasWrite: 'crm.schemas.contacts.write',
} as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];

/** A private-app access token and the scopes granted to it. */
export interface SandboxToken {
  token: string;
  scopes: string[];
}

/** The private-app token a sandbox accepts when none are configured. */
export const SANDBOX_TOKEN = 'sandbox-token';

/** The tokens a sandbox accepts when none are configured: SANDBOX_TOKEN with every scope. */
export const DEFAULT_TOKENS: SandboxToken[] = [{ token: SANDBOX_TOKEN, scopes: Object.values(SCOPES) }];

const AUTH_MESSAGE =
  'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview';
const SCOPES_MESSAGE =
  "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.";

/** Finds the token named by a `Bearer` Authorization header, or HubSpot's 401 reply. */
export function authenticate(header: string | undefined, tokens: SandboxToken[]): SandboxToken | Reply {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const found = match ? tokens.find((t) => t.token === match[1]) : undefined;
  return found ?? errorReply(401, 'INVALID_AUTHENTICATION', AUTH_MESSAGE);
}

/** HubSpot's 403 MISSING_SCOPES reply when the token lacks `scope`, else undefined. */
export function checkScope(token: SandboxToken, scope: Scope): Reply | undefined {
  if (token.scopes.includes(scope)) return undefined;
  return errorReply(403, 'MISSING_SCOPES', SCOPES_MESSAGE, {
    errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: [scope] } }],
    links: { scopes: 'https://developers.hubspot.com/scopes' },
  });
}

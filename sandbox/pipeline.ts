import type { IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../lib/logger.js';
import { accountInfoReply, type SandboxAccount } from './account-info.js';
import { authenticate, checkScope, type SandboxToken } from './auth.js';
import { errorReply, validationReply, type Reply } from './errors.js';
import { pickServerError, type SandboxFaults } from './faults.js';
import type { SandboxOperation } from './operation.js';
import { rateLimitBody, type RateLimiter } from './rate-limit.js';
import type { SpecRouter } from './spec.js';
import type { SandboxStats } from './stats.js';

/** Everything the request pipeline needs, built once by startSandbox. */
export interface PipelineDeps {
  router: SpecRouter;
  operations: Record<string, SandboxOperation>;
  tokens: SandboxToken[];
  /** What `GET /account-info/v3/details` reports. */
  account: SandboxAccount;
  limiter: RateLimiter;
  state: { faults: SandboxFaults; stats: SandboxStats };
  log: Logger;
}

/** One HTTP request addressed to the HubSpot API. */
export interface IncomingRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  rawBody: string;
}

const SERVER_ERROR_CATEGORY: Record<number, string> = { 500: 'INTERNAL_ERROR', 502: 'BAD_GATEWAY', 503: 'SERVICE_UNAVAILABLE' };

function parseJson(raw: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (raw.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

/**
 * HubSpot's order of checks: route, authentication (401), rate limits (429, also forced by a fault),
 * injected 5xx, scopes (403), request validation against the spec (400), then the operation itself.
 * Every answer to an authenticated request carries the X-HubSpot-RateLimit-* headers.
 */
export async function handleHubSpot(deps: PipelineDeps, req: IncomingRequest): Promise<Reply> {
  const { state, limiter, log } = deps;
  const started = Date.now();
  const headers = Object.fromEntries(Object.entries(req.headers).filter((e): e is [string, string | string[]] => e[1] !== undefined));
  const parsed = parseJson(req.rawBody);
  const accountInfo = accountInfoReply(req.method, req.url.pathname, deps.account);
  if (accountInfo) state.stats.byOperation['accountInfo.details'] = (state.stats.byOperation['accountInfo.details'] ?? 0) + 1;
  const routed = accountInfo ? undefined : deps.router.match({
    method: req.method, path: req.url.pathname, query: req.url.search.replace(/^\?/, ''), headers, body: parsed.ok ? parsed.value : req.rawBody,
  });
  const operation = routed ? deps.operations[routed.operationId] : undefined;
  if (operation) state.stats.byOperation[operation.name] = (state.stats.byOperation[operation.name] ?? 0) + 1;

  const reply = await (async (): Promise<Reply> => {
    const token = authenticate(req.headers.authorization, deps.tokens);
    if ('status' in token) return token;
    const budget = limiter.take(token.token);
    const withLimits = (r: Reply): Reply => ({ ...r, headers: { ...budget.headers, ...r.headers } });
    if (budget.limitedBy || state.faults.force429 > 0) {
      if (!budget.limitedBy) state.faults.force429 -= 1;
      state.stats.rateLimited += 1;
      const policy = budget.limitedBy ?? 'TEN_SECONDLY_ROLLING';
      return withLimits({ status: 429, body: rateLimitBody(policy, randomUUID()), headers: { 'Retry-After': String(budget.retryAfterSeconds ?? 1) } });
    }
    const forced5xx = state.faults.force5xx > 0;
    if (forced5xx) state.faults.force5xx -= 1;
    if (forced5xx || (state.faults.serverErrorRate > 0 && Math.random() < state.faults.serverErrorRate)) {
      const status = pickServerError();
      return withLimits(errorReply(status, SERVER_ERROR_CATEGORY[status] ?? 'INTERNAL_ERROR', 'internal error'));
    }
    if (accountInfo) return withLimits(accountInfo);
    if (!routed || !operation) {
      return withLimits(errorReply(404, 'OBJECT_NOT_FOUND', `No HubSpot sandbox operation for ${req.method} ${req.url.pathname}`));
    }
    const missingScope = checkScope(token, operation.scope);
    if (missingScope) return withLimits(missingScope);
    if (!parsed.ok) return withLimits(validationReply(`Invalid input JSON: ${parsed.message}`));
    const problems = routed.validate();
    if (problems.length) {
      return withLimits(validationReply(`Invalid input: ${problems.join('; ')}`, problems.map((message) => ({ message, in: 'body' }))));
    }
    return withLimits(await operation.handle({ params: routed.params, query: req.url.searchParams, body: parsed.value, token }));
  })();
  log.debug({ op: operation?.name ?? req.url.pathname, status: reply.status, ms: Date.now() - started }, 'hubspot request');
  return reply;
}

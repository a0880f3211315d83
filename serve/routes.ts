import type { FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { ServeMetrics } from './metrics.js';
import type { Lookup } from './recommender.js';
import { K, recommendationsSchema } from './schemas.js';
import { RETRY_AFTER_SECONDS, ServeUnavailable } from './unavailable.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the request's API key (never the key). */
    apiKeyName: string;
    /** batch, live or popular once answered. */
    answerSource: string;
  }
}

/**
 * The API under /v1: bearer API keys (401), a per-key rate limit after authentication (429 with Retry-After),
 * the recommendations route, and per request a latency observation by source and one access-log line
 * naming the route template, status, source and key name: nothing of the customer, never the key.
 */
export async function registerApiRoutes(
  app: FastifyInstance,
  p: { checkKey: (authorization: string | undefined) => string | undefined; rateLimitPerSecond: number; lookup: (customerId: string) => Promise<Lookup>; metrics: ServeMetrics },
): Promise<void> {
  app.decorateRequest('apiKeyName', '');
  app.decorateRequest('answerSource', '');
  app.addHook('onRequest', async (request, reply) => {
    const name = p.checkKey(request.headers.authorization);
    if (!name) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({
        statusCode: 401, error: 'Unauthorized',
        message: request.headers.authorization ? 'the API key is not one of this service\'s keys' : 'send an API key as "Authorization: Bearer <key>"',
      });
    }
    request.apiKeyName = name;
  });
  if (p.rateLimitPerSecond > 0) {
    await app.register(rateLimit, {
      hook: 'preHandler',
      max: p.rateLimitPerSecond,
      timeWindow: 1000,
      keyGenerator: (request) => request.apiKeyName,
      errorResponseBuilder: (_request, context) => ({
        statusCode: 429, error: 'Too Many Requests',
        message: `this API key may send ${context.max} requests per second to this instance; retry in ${context.after}`,
      }),
    });
  }
  app.addHook('onResponse', async (request, reply) => {
    const source = request.answerSource || 'none';
    p.metrics.latency.observe({ source, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    request.log.info({ route: request.routeOptions.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100, source, key: request.apiKeyName || undefined }, 'request');
  });

  app.get<{ Params: { id: string }; Querystring: { k?: number } }>('/v1/customers/:id/recommendations', { schema: recommendationsSchema }, async (request, reply) => {
    const customerId = request.params.id;
    let found: Lookup;
    try {
      found = await p.lookup(customerId);
    } catch (err) {
      if (!(err instanceof ServeUnavailable)) throw err;
      return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({ statusCode: 503, error: 'Service Unavailable', message: err.reason });
    }
    if ('unknown' in found) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no customer has id ${customerId}` });
    const { run, answer } = found;
    request.answerSource = answer.source;
    return {
      customerId,
      items: answer.items.slice(0, request.query.k ?? K.default).map((i, n) => ({ rank: n + 1, productId: i.productId, name: i.name, score: i.score })),
      source: answer.source,
      runId: run.runId,
      modelVersion: run.modelVersion,
      modelSha256: run.modelSha256,
      generatedAt: answer.generatedAt,
    };
  });
}

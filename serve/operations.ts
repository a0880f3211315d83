import type { FastifyInstance } from 'fastify';
import type { Pool } from '../db/pool.js';
import type { ServeMetrics } from './metrics.js';
import type { PublishedRunWatcher } from './published-run.js';
import { healthSchema, readinessSchema } from './schemas.js';

/** /healthz, /readyz, /metrics and /openapi.json: unauthenticated, for load balancers, Prometheus and client generators. */
export function registerOperationRoutes(app: FastifyInstance, p: { pool: Pool; watcher: PublishedRunWatcher; metrics: ServeMetrics }): void {
  app.get('/healthz', { schema: healthSchema }, async () => ({ ok: true }));

  app.get('/readyz', { schema: readinessSchema }, async (_request, reply) => {
    const reasons: string[] = [];
    try {
      await p.pool.query('select 1');
      p.metrics.databaseUp.set(1);
    } catch (err) {
      p.metrics.databaseUp.set(0);
      reasons.push(`PostgreSQL is unreachable: ${(err as Error).message}`);
    }
    const run = p.watcher.current();
    if (!run) reasons.push(`no published run and model loaded: ${p.watcher.lastError() ?? 'still loading'}`);
    if (reasons.length) return reply.code(503).send({ ready: false, reasons });
    return { ready: true, runId: run!.runId, modelVersion: run!.modelVersion };
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const text = await p.metrics.registry.metrics();
    return reply.type(p.metrics.registry.contentType).send(text);
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { makeModelStore } from '../activities/sql/model-store.js';
import { makePool } from '../db/pool.js';
import type { Config } from '../lib/config.js';
import { ConfigInvalid } from '../lib/errors.js';
import { makeLogger, type Logger } from '../lib/logger.js';
import { SCOREFLOW_VERSION } from '../lib/version.js';
import { makeRecsModelSource } from '../models/recs-model.js';
import { makePipelineRegistry, PRODUCT_RECS } from '../pipelines/index.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { shopTablesOf } from '../source/shop-tables.js';
import { makeApiKeyCheck } from './auth.js';
import { handleError } from './bad-request.js';
import { makeAnswerCache } from './cache.js';
import { makeCatalogue } from './catalogue.js';
import { makeServeMetrics } from './metrics.js';
import { registerOperationRoutes } from './operations.js';
import { watchPublishedRun, type PublishedRunWatcher } from './published-run.js';
import { makeRecommender } from './recommender.js';
import { registerApiRoutes } from './routes.js';

/** A running service: where it answers, the Fastify instance and its published-run watcher (for tests), and a graceful stop. */
export interface ServeHandle {
  url: string;
  app: FastifyInstance;
  watcher: PublishedRunWatcher;
  /** Stops accepting connections, finishes in-flight requests, then drops the LISTEN connection and the pool. */
  close(): Promise<void>;
}

/** What `startServeApp` needs besides configuration; each defaults from it. */
export interface ServeOptions {
  /** Default: DATABASE_URL (the CLI passes the embedded server's URL when that is unset). */
  databaseUrl?: string;
  log?: Logger;
  /** Override SCOREFLOW_SERVE_PORT / SCOREFLOW_SERVE_HOST; port 0 picks a free port. */
  port?: number;
  host?: string;
  /** Wait until the published run and its model are loaded before returning (default true). */
  waitForRun?: boolean;
}

/**
 * Builds and starts `scoreflow serve`: its own pool (SCOREFLOW_SERVE_POOL_SIZE, 2-second connect and query
 * timeouts), the published-run watcher, the product catalogue, the cache, and the Fastify app with its routes
 * and OpenAPI document. Returns once listening (and, unless told otherwise, once a published run is loaded or 10 s passed).
 */
export async function startServeApp(config: Config, opts: ServeOptions = {}): Promise<ServeHandle> {
  const databaseUrl = opts.databaseUrl ?? config.database.url;
  if (!databaseUrl) throw new ConfigInvalid('scoreflow serve needs a database: set DATABASE_URL');
  if (config.serve.apiKeys.size === 0) {
    throw new ConfigInvalid('scoreflow serve needs API keys: set SCOREFLOW_SERVE_API_KEYS (name:key,…) or SCOREFLOW_SERVE_API_KEYS_FILE (one name:key per line)');
  }
  const log = opts.log ?? makeLogger(config.logLevel ?? 'info', 'scoreflow-serve');
  const def = makePipelineRegistry(config).get(PRODUCT_RECS);
  const tables = shopTablesOf(def);
  const pool = makePool(databaseUrl, log, config.serve.poolSize, { connectMs: 2_000, queryMs: 2_000 });
  const cache = makeAnswerCache(config.serve.cache);
  const metrics = makeServeMetrics({ cacheEntries: cache.size });
  const catalogue = makeCatalogue({ pool, products: tables.products, log, refreshMs: 60_000 });
  const watcher = watchPublishedRun({
    pool, databaseUrl, pipeline: PRODUCT_RECS, log, pollMs: config.serve.pollSeconds * 1000,
    models: makeRecsModelSource({ modelDir: def.modelDir, store: makeModelStore(pool) }),
    onSwitch: (run) => {
      metrics.publishedRun.reset();
      metrics.publishedRun.set({ run_id: run.runId, model_sha256: run.modelSha256 }, 1);
      void catalogue.refresh();
    },
    onDatabase: (up) => metrics.databaseUp.set(up ? 1 : 0),
  });
  const lookup = makeRecommender({
    pool, watcher, catalogue, cache, metrics, liveTtlMs: config.serve.liveTtlSeconds * 1000,
    shop: { customers: parseLeadsTable(def.source.table), purchases: tables.purchases, key: def.source.key },
  });

  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  }) as unknown as FastifyInstance;
  const stopBackground = async () => {
    catalogue.close();
    await watcher.close();
    await pool.end();
  };
  try {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: { title: 'scoreflow recommendations', version: SCOREFLOW_VERSION, description: 'Product recommendations on request, from the product-recs pipeline\'s published run and its model.' },
        components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'an API key from SCOREFLOW_SERVE_API_KEYS or its file' } } },
      },
    });
    app.setErrorHandler(handleError);
    // Once closing, answers end their keep-alive connection, so close() waits for in-flight requests, not for idle sockets (72 s).
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
    app.addHook('onSend', async (_request, reply, payload) => {
      if (closing) reply.header('connection', 'close');
      return payload;
    });
    registerOperationRoutes(app, { pool, watcher, metrics });
    await app.register(async (api) => registerApiRoutes(api, {
      checkKey: makeApiKeyCheck(config.serve.apiKeys), rateLimitPerSecond: config.serve.rateLimitPerSecond, lookup, metrics,
    }));
    await catalogue.refresh();
    await app.listen({ port: opts.port ?? config.serve.port, host: opts.host ?? config.serve.host });
  } catch (err) {
    await app.close().catch(() => {});
    await stopBackground();
    throw err;
  }
  if (opts.waitForRun !== false) await waitForRun(watcher, 10_000);
  const address = app.server.address();
  const url = typeof address === 'string' ? address : `http://${address!.family === 'IPv6' ? `[${address!.address}]` : address!.address}:${address!.port}`;
  return {
    url, app, watcher,
    async close() {
      await app.close();
      await stopBackground();
    },
  };
}

async function waitForRun(watcher: PublishedRunWatcher, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!watcher.current() && Date.now() < deadline) {
    await watcher.refresh();
    if (!watcher.current()) await new Promise((r) => setTimeout(r, 200));
  }
}

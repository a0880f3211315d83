import pg from 'pg';
import { RECS_PUBLISHED_CHANNEL } from '../activities/sql/publish-recs.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../lib/logger.js';
import type { LoadedRecsModel, RecsModelSource } from '../models/recs-model.js';
import { readPopularList, readPublishedRun, type PublishedRun } from './sql/published-run.js';

/** The run answers come from, with everything a request needs of it already in memory. */
export interface ActiveRun extends PublishedRun {
  model: LoadedRecsModel;
  popular: Array<{ productId: string; purchases: number }>;
}

/** Follows recs.published_run: NOTIFY on publish, and a poll as fallback. */
export interface PublishedRunWatcher {
  /** The run to answer from; undefined until the first published run and its model are loaded. */
  current(): ActiveRun | undefined;
  /** Why the published run could not be read or loaded last time (cleared by the next success). */
  lastError(): string | undefined;
  listening(): boolean;
  refresh(): Promise<void>;
  close(): Promise<void>;
}

const RECONNECT_MS = { first: 500, max: 10_000 };

/**
 * Reads the pointer at start, on every NOTIFY on RECS_PUBLISHED_CHANNEL (a dedicated connection that
 * reconnects with backoff, and re-reads the pointer after each reconnect, in case a publish was missed) and
 * every `pollMs`. A new run is switched to only once its pinned model (by sha256, from the model directory or
 * scoring.model_store) and its popularity list are loaded: requests keep the previous run until then.
 */
export function watchPublishedRun(p: {
  pool: Pool;
  databaseUrl: string;
  pipeline: string;
  models: RecsModelSource;
  log: Logger;
  pollMs: number;
  onSwitch?: (run: ActiveRun) => void;
  onDatabase?: (up: boolean) => void;
}): PublishedRunWatcher {
  let active: ActiveRun | undefined;
  let error: string | undefined;
  let closed = false;
  let listener: pg.Client | undefined;
  let isListening = false;
  let reconnectMs = RECONNECT_MS.first;
  let reconnectTimer: NodeJS.Timeout | undefined;

  const refreshOnce = async () => {
    let published: PublishedRun | undefined;
    try {
      published = await readPublishedRun(p.pool, p.pipeline);
      p.onDatabase?.(true);
    } catch (err) {
      p.onDatabase?.(false);
      error = `cannot read recs.published_run: ${(err as Error).message}`;
      return;
    }
    if (!published) {
      error = `no run of ${p.pipeline} has been published yet: run \`scoreflow run --pipeline ${p.pipeline}\``;
      return;
    }
    if (published.runId === active?.runId) {
      error = undefined;
      return;
    }
    try {
      const [model, popular] = await Promise.all([p.models.bySha(published.modelSha256), readPopularList(p.pool, published.runId)]);
      active = { ...published, model, popular };
      error = undefined;
      p.log.info({ runId: published.runId, modelVersion: published.modelVersion }, 'answering from the published run');
      p.onSwitch?.(active);
    } catch (err) {
      error = `cannot load published run ${published.runId} (model ${published.modelSha256}): ${(err as Error).message}`;
      p.log.error({ runId: published.runId, err: (err as Error).message }, 'cannot switch to the published run; answering from the previous one');
    }
  };

  let running: Promise<void> | undefined;
  let again = false;
  const refresh = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await refreshOnce();
      } while (again && !closed);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  const scheduleReconnect = () => {
    isListening = false;
    if (closed || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void listen();
    }, reconnectMs);
    reconnectMs = Math.min(reconnectMs * 2, RECONNECT_MS.max);
  };

  const listen = async () => {
    const client = new pg.Client({ connectionString: p.databaseUrl, connectionTimeoutMillis: 5_000, keepAlive: true });
    listener = client;
    const lost = () => {
      if (listener !== client) return;
      listener = undefined;
      void client.end().catch(() => {});
      scheduleReconnect();
    };
    client.on('error', (err) => {
      if (listener === client) p.log.warn({ err: err.message }, 'LISTEN connection lost; reconnecting');
      lost();
    });
    client.on('end', lost);
    client.on('notification', (msg) => {
      if (msg.channel === RECS_PUBLISHED_CHANNEL) void refresh();
    });
    try {
      await client.connect();
      await client.query(`listen ${RECS_PUBLISHED_CHANNEL}`);
      if (closed) return void (await client.end());
      isListening = true;
      reconnectMs = RECONNECT_MS.first;
      void refresh();
    } catch (err) {
      if (listener === client) p.log.warn({ err: (err as Error).message }, 'cannot LISTEN for publications; retrying (the poll still runs)');
      lost();
    }
  };

  const poll = setInterval(() => void refresh(), p.pollMs);
  poll.unref();
  void listen();

  return {
    current: () => active,
    lastError: () => error,
    listening: () => isListening,
    refresh,
    async close() {
      closed = true;
      clearInterval(poll);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => {});
      await running;
    },
  };
}

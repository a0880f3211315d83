import type { Pool } from '../db/pool.js';
import type { LeadsTable } from '../source/leads-table.js';
import type { Answer, AnswerCache } from './cache.js';
import type { Catalogue } from './catalogue.js';
import { scoreOneCustomer } from './live-score.js';
import type { ServeMetrics } from './metrics.js';
import type { ActiveRun, PublishedRunWatcher } from './published-run.js';
import { readCustomerHistory, readCustomerRecs } from './sql/customer-recs.js';
import { isUnavailable, ServeUnavailable } from './unavailable.js';

/** A customer's answer with the run it came from, or `unknown` for an id that is no customer. */
export type Lookup = { run: ActiveRun; answer: Answer; cached: boolean } | { unknown: true };

/** The shop's tables the service reads, and the customers' key column. */
export interface ShopSource {
  customers: LeadsTable;
  purchases: LeadsTable;
  key: string;
}

/**
 * Answers a customer: from the cache; else the published run's rows if the model scored them (batch);
 * else, with purchases so far, the same model on the spot (live); else the run's popularity list. Concurrent
 * misses for one customer share one lookup. PostgreSQL unreachable on a miss is ServeUnavailable.
 */
export function makeRecommender(p: {
  pool: Pool;
  shop: ShopSource;
  watcher: PublishedRunWatcher;
  catalogue: Catalogue;
  cache: AnswerCache;
  metrics: ServeMetrics;
  liveTtlMs: number;
}): (customerId: string) => Promise<Lookup> {
  const inFlight = new Map<string, Promise<Answer | undefined>>();

  const compute = async (run: ActiveRun, customerId: string): Promise<Answer | undefined> => {
    const rows = await readCustomerRecs(p.pool, { runId: run.runId, customerId });
    if (rows[0]?.source === 'model') {
      return { source: 'batch', generatedAt: rows[0].generatedAt.toISOString(),
        items: rows.map((r) => ({ productId: r.productId, name: p.catalogue.name(r.productId), score: r.score })) };
    }
    if (!p.catalogue.loaded()) await p.catalogue.refresh();
    const history = await readCustomerHistory(p.pool, { ...p.shop, customerId, halfLifeDays: run.model.card.history.half_life_days });
    if (!history.known && rows.length === 0) return undefined;
    const scored = history.purchases.length === 0
      ? { source: 'popular' as const, items: run.popular.map((x) => ({ productId: x.productId, score: x.purchases })) }
      : await scoreOneCustomer(run.model, { purchases: history.purchases, active: p.catalogue.active(), popular: run.popular });
    return { source: scored.source, generatedAt: new Date().toISOString(),
      items: scored.items.map((i) => ({ productId: i.productId, name: p.catalogue.name(i.productId), score: i.score })) };
  };

  return async (customerId) => {
    const run = p.watcher.current();
    if (!run) throw new ServeUnavailable(p.watcher.lastError() ?? 'no published run loaded yet');
    const hit = p.cache.get(run.runId, customerId);
    if (hit) {
      p.metrics.cacheHits.inc();
      return { run, answer: hit, cached: true };
    }
    p.metrics.cacheMisses.inc();
    const key = `${run.runId}/${customerId}`;
    let pending = inFlight.get(key);
    if (!pending) {
      pending = compute(run, customerId).finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    let answer: Answer | undefined;
    try {
      answer = await pending;
      p.metrics.databaseUp.set(1);
    } catch (err) {
      if (!isUnavailable(err)) throw err;
      p.metrics.databaseUp.set(0);
      throw new ServeUnavailable(`PostgreSQL is unreachable (${(err as Error).message}); customers in this instance's cache are still answered`);
    }
    if (!answer) return { unknown: true };
    if (answer.source === 'batch') p.cache.set(run.runId, customerId, answer);
    else if (p.liveTtlMs > 0) p.cache.set(run.runId, customerId, answer, p.liveTtlMs);
    return { run, answer, cached: false };
  };
}

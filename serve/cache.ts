import { LRUCache } from 'lru-cache';

/** An answer as the cache holds it: every item its source ranked (a request's k takes the first k). */
export interface Answer {
  source: 'batch' | 'live' | 'popular';
  items: Array<{ productId: string; name: string | null; score: number }>;
  generatedAt: string;
}

/** The bounded in-process cache of answers, keyed by run and customer: a new run's answers never meet an old run's. */
export interface AnswerCache {
  get(runId: string, customerId: string): Answer | undefined;
  /** `ttlMs` bounds answers that a purchase can change (live, popular); batch answers live as long as their run. */
  set(runId: string, customerId: string, answer: Answer, ttlMs?: number): void;
  size(): number;
}

/** Rough bytes an entry holds in V8 (key, object, items and their strings), for a cache bounded in MiB. */
function approximateBytes(answer: Answer, key: string): number {
  return 160 + key.length * 2 + answer.items.reduce((n, i) => n + 96 + i.productId.length * 2 + (i.name?.length ?? 0) * 2, 0);
}

/** An LRU of at most `maxEntries` answers, or of about `maxMiB` MiB when that is set. */
export function makeAnswerCache(p: { maxEntries: number; maxMiB?: number }): AnswerCache {
  const lru = p.maxMiB
    ? new LRUCache<string, Answer>({ maxSize: Math.floor(p.maxMiB * 1024 * 1024), sizeCalculation: approximateBytes })
    : new LRUCache<string, Answer>({ max: p.maxEntries });
  const key = (runId: string, customerId: string) => `${runId}/${customerId}`;
  return {
    get: (runId, customerId) => lru.get(key(runId, customerId)),
    set: (runId, customerId, answer, ttlMs) => void lru.set(key(runId, customerId), answer, ttlMs ? { ttl: ttlMs } : {}),
    size: () => lru.size,
  };
}

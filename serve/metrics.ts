import client from 'prom-client';

/** The service's Prometheus metrics, in a registry of its own (several apps can share a process, as tests do). */
export interface ServeMetrics {
  registry: client.Registry;
  /** Seconds per recommendations request, by the answer's source (`none` for errors) and status code. */
  latency: client.Histogram<'source' | 'status'>;
  cacheHits: client.Counter;
  cacheMisses: client.Counter;
  databaseUp: client.Gauge;
  publishedRun: client.Gauge<'run_id' | 'model_sha256'>;
}

/** Builds the metrics; `cacheEntries` is read at each scrape, as is the hit ratio from the two counters. */
export function makeServeMetrics(p: { cacheEntries: () => number }): ServeMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'scoreflow_serve_' });
  const latency = new client.Histogram({
    name: 'scoreflow_serve_request_duration_seconds',
    help: 'recommendations requests, from arrival to response, by source (batch, live, popular; none for errors) and status',
    labelNames: ['source', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const cacheHits = new client.Counter({ name: 'scoreflow_serve_cache_hits_total', help: 'answers served from the in-process cache', registers: [registry] });
  const cacheMisses = new client.Counter({ name: 'scoreflow_serve_cache_misses_total', help: 'answers looked up in PostgreSQL or scored live', registers: [registry] });
  new client.Gauge({
    name: 'scoreflow_serve_cache_hit_ratio',
    help: 'cache hits / (hits + misses) since start',
    registers: [registry],
    async collect() {
      const hits = (await cacheHits.get()).values[0]?.value ?? 0;
      const misses = (await cacheMisses.get()).values[0]?.value ?? 0;
      this.set(hits + misses > 0 ? hits / (hits + misses) : 0);
    },
  });
  new client.Gauge({
    name: 'scoreflow_serve_cache_entries',
    help: 'answers in the cache',
    registers: [registry],
    collect() {
      this.set(p.cacheEntries());
    },
  });
  const databaseUp = new client.Gauge({ name: 'scoreflow_serve_database_up', help: '1 when the last PostgreSQL call succeeded', registers: [registry] });
  const publishedRun = new client.Gauge({
    name: 'scoreflow_serve_published_run_info',
    help: 'the run answers come from (value 1)',
    labelNames: ['run_id', 'model_sha256'] as const,
    registers: [registry],
  });
  return { registry, latency, cacheHits, cacheMisses, databaseUp, publishedRun };
}

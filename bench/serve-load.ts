import { performance } from 'node:perf_hooks';
import autocannon, { type Request, type Result } from 'autocannon';

/** The customer one request asks for, and the kind it stands for in the figures (warm, cold, live…). */
export interface Pick {
  kind: string;
  id: string;
}

/** Latency of a set of requests as the client saw them, in milliseconds (not corrected for coordinated omission). */
export interface Latency {
  requests: number;
  p50: number;
  p99: number;
  max: number;
}

/** One load run's figures: all requests, each kind's, the answers' sources by kind and the runs answers came from. */
export interface LoadResult {
  connections: number;
  /** The rate asked for (requests a second; 0 = as fast as the service answers). */
  rate: number;
  seconds: number;
  requests: number;
  perSecond: number;
  /** Connection errors, timeouts and answers other than 2xx. */
  errors: number;
  statusCodes: Record<string, number>;
  latency: Latency;
  byKind: Record<string, Latency & { sources: Record<string, number> }>;
  /** Each run id the answers named, with when (ms since the load began) it was first seen. */
  runs: Array<{ runId: string; firstMs: number }>;
  /**
   * Within how many ms of the start of each second 95% of the answers came: about 950 for requests spread
   * over the second, far less when autocannon's fixed rate sends each connection's share in a burst.
   */
  burstMs: number;
  /** Paced loads: how late each request went out after it was due (the loader's own lag, part of the latency). */
  sendLag?: Latency;
  /** CPU the service process used during the load, per request, in ms (set by the bench around the load). */
  serviceCpuMsPerRequest?: number;
  /** CPU this (the load's) process used per request, in ms: the load generator's own share of the 2 cores. */
  loaderCpuMsPerRequest?: number;
  /** What autocannon itself reports: integer milliseconds, and at a fixed rate "corrected" for coordinated omission. */
  autocannon: { p50: number; p99: number; max: number };
}

const quantile = (sorted: Float64Array, q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : 0);

/** p50, p99 and max of the latencies whose time (ms since the load began) falls in [from, to). */
export function latencyOf(samples: { ms: number[]; at: number[]; kind: string[] }, keep: (i: number) => boolean): Latency {
  const picked: number[] = [];
  for (let i = 0; i < samples.ms.length; i++) if (keep(i)) picked.push(samples.ms[i]!);
  const sorted = Float64Array.from(picked).sort();
  return { requests: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1]! : 0 };
}

/** Within how many ms of the start of each second (since the load began) 95% of the answers came. */
export function burstMsOf(samples: Samples): number {
  return quantile(Float64Array.from(samples.at, (at) => at % 1000).sort(), 0.95);
}

/** Every response's latency, kind and time, for figures over a window of the run (before and after a switch). */
export interface Samples {
  ms: number[];
  at: number[];
  kind: string[];
}

/**
 * Loads the recommendations route with autocannon (keep-alive connections, pipelining 1), each request for
 * the customer `pick` gives. With `rate`, autocannon's overallRate; `until` ends the load early (checked
 * every 100 ms). With `inspect`, each answer's body is read for its source and run id.
 */
export async function runLoad(o: {
  url: string;
  apiKey: string;
  connections: number;
  rate: number;
  seconds: number;
  pick: () => Pick;
  inspect: boolean;
  until?: (elapsedMs: number, runs: LoadResult['runs']) => boolean;
}): Promise<{ result: LoadResult; samples: Samples }> {
  const samples: Samples = { ms: [], at: [], kind: [] };
  const sources = new Map<string, Record<string, number>>();
  const runs: LoadResult['runs'] = [];
  const start = performance.now();
  const request: Request = {
    method: 'GET',
    setupRequest: (req, context) => {
      const p = o.pick();
      context['kind'] = p.kind;
      return { ...req, path: `/v1/customers/${p.id}/recommendations` };
    },
    ...(o.inspect ? {
      onResponse: (status: number, body: string, context: Record<string, unknown>) => {
        if (status !== 200) return;
        const answer = JSON.parse(body) as { source: string; runId: string };
        const bySource = sources.get(context['kind'] as string) ?? {};
        bySource[answer.source] = (bySource[answer.source] ?? 0) + 1;
        sources.set(context['kind'] as string, bySource);
        if (!runs.some((r) => r.runId === answer.runId)) runs.push({ runId: answer.runId, firstMs: performance.now() - start });
      },
    } : {}),
  };
  let watch: NodeJS.Timeout | undefined;
  const result = await new Promise<Result>((resolve, reject) => {
    const instance = autocannon({
      url: o.url,
      connections: o.connections,
      pipelining: 1,
      duration: o.seconds,
      timeout: 10,
      ...(o.rate > 0 ? { overallRate: o.rate } : {}),
      headers: { authorization: `Bearer ${o.apiKey}` },
      requests: [request],
    }, (err, res) => (err ? reject(err) : resolve(res)));
    instance.on('response', (client, _status, _bytes, ms) => {
      samples.ms.push(ms);
      samples.at.push(performance.now() - start);
      samples.kind.push(client.requestIterator.context['kind'] as string);
    });
    if (o.until) {
      const until = o.until;
      watch = setInterval(() => {
        if (until(performance.now() - start, runs)) instance.stop();
      }, 100);
    }
  }).finally(() => clearInterval(watch));
  const byKind: LoadResult['byKind'] = {};
  for (const kind of new Set(samples.kind)) byKind[kind] = { ...latencyOf(samples, (i) => samples.kind[i] === kind), sources: sources.get(kind) ?? {} };
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
  const figures: LoadResult = {
    connections: o.connections,
    rate: o.rate,
    seconds: result.duration,
    requests: samples.ms.length,
    perSecond: samples.ms.length / result.duration,
    errors: result.errors + result.timeouts + result.non2xx,
    statusCodes,
    latency: latencyOf(samples, () => true),
    byKind,
    runs,
    burstMs: burstMsOf(samples),
    autocannon: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  };
  return { result: figures, samples };
}

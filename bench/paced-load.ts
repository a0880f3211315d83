import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { burstMsOf, latencyOf, type LoadResult, type Pick, type Samples } from './serve-load.js';

/**
 * An open-loop load at an even rate, as a thousand app users would send it: request n is due at n/rate
 * seconds and goes out then on a free keep-alive connection (a new one if all are busy; no pipelining),
 * whatever the answers before it. Latency is counted from when the request was due, so a stalled service
 * is charged for the requests it delayed. Autocannon's fixed rate cannot do this: each of its connections
 * sends its share of a second back to back and then waits for the next second (see README, bench:serve).
 * The result's `connections` is the most requests in flight at once.
 */
export async function runPacedLoad(o: { url: string; apiKey: string; rate: number; seconds: number; pick: () => Pick }): Promise<{ result: LoadResult; samples: Samples }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo' });
  const target = new URL(o.url);
  const samples: Samples = { ms: [], at: [], kind: [] };
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  const total = Math.round(o.rate * o.seconds);
  const start = performance.now();
  let sent = 0;
  let peak = 0;
  const pending = new Set<Promise<void>>();
  const lag: Samples = { ms: [], at: [], kind: [] };
  const send = (due: number) => {
    const p = o.pick();
    lag.ms.push(performance.now() - due);
    const done = new Promise<void>((resolve) => {
      const req = http.get({ agent, host: target.hostname, port: target.port, path: `/v1/customers/${p.id}/recommendations`,
        headers: { authorization: `Bearer ${o.apiKey}` }, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          const now = performance.now();
          statusCodes[String(res.statusCode)] = (statusCodes[String(res.statusCode)] ?? 0) + 1;
          if (res.statusCode !== 200) errors++;
          samples.ms.push(now - due);
          samples.at.push(now - start);
          samples.kind.push(p.kind);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
    });
    pending.add(done);
    peak = Math.max(peak, pending.size);
    void done.then(() => pending.delete(done));
  };
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + (sent * 1000) / o.rate <= now) send(start + (sent++ * 1000) / o.rate);
      if (sent < total) setTimeout(tick, Math.max(0, start + (sent * 1000) / o.rate - performance.now()));
      else resolve();
    };
    tick();
  });
  await Promise.all(pending);
  agent.destroy();
  const seconds = (performance.now() - start) / 1000;
  const byKind: LoadResult['byKind'] = {};
  for (const kind of new Set(samples.kind)) byKind[kind] = { ...latencyOf(samples, (i) => samples.kind[i] === kind), sources: {} };
  const all = latencyOf(samples, () => true);
  return {
    result: {
      connections: peak, rate: o.rate, seconds, requests: samples.ms.length, perSecond: samples.ms.length / seconds, errors, statusCodes,
      latency: all, byKind, runs: [], burstMs: burstMsOf(samples), sendLag: latencyOf(lag, () => true), autocannon: { p50: 0, p99: 0, max: 0 },
    },
    samples,
  };
}

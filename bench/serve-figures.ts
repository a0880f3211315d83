import type { Latency, LoadResult } from './serve-load.js';
import { int, type Figure } from './report.js';

/** What bench:serve measured, as written to its JSON. */
export interface ServeMeasurements {
  customers: number;
  products: number;
  live: number;
  warm: number;
  rate: number;
  data: { reused: boolean; seedMs?: number; runMs?: number; run: { runId: string; asOf: string; published: number } };
  /** Sources of the answers to the warmed, live and no-purchase customers asked before the loads. */
  sources: Record<'warm' | 'live' | 'popular', Record<string, number>>;
  hits: LoadResult;
  saturation: LoadResult;
  sweep: Array<{ connections: number; latency: Latency; autocannon: LoadResult['autocannon']; burstMs: number; errors: number }>;
  mix: LoadResult;
  /** The same cache hits and mix at the same rate, evenly paced (bench/paced-load.ts). */
  pacedHits: LoadResult;
  pacedMix: LoadResult;
  /** Absent with --no-publish. */
  publish?: LoadResult & {
    runId: string;
    status: string;
    storeMs: number | null;
    /** From the run's start to its store stage; the load starts there. */
    storeAfterMs: number;
    /** ms since the load began: the first answer from the new run, and the workflow's return. */
    switchedAtMs: number | null;
    publishedAtMs: number;
    beforeSwitch: Latency;
    afterSwitch: Latency;
  };
  /** The service process's resident memory after start and at its peak, in MiB. */
  rss: { afterStart: number; peak: number };
}

const ms = (v: number) => `${v.toFixed(2)} ms`;

/** The service's figures beside the goals (section "Speed" of issue 12). */
export function serveFigures(m: ServeMeasurements): Figure[] {
  const at = `${int(m.rate)} req/s`;
  const section = `serve, ${int(m.customers)} customers`;
  const f = (what: string, value: string, target?: string, met?: boolean): Figure => ({ section, what, value, ...(target ? { target, met: met! } : {}) });
  const latency = (label: string, l: Latency, p99Goal?: number) => [
    f(`${label}: p50`, ms(l.p50)),
    p99Goal ? f(`${label}: p99`, ms(l.p99), `≤ ${p99Goal} ms`, l.p99 <= p99Goal) : f(`${label}: p99`, ms(l.p99)),
    f(`${label}: max`, ms(l.max)),
  ];
  const errors = (label: string, load: LoadResult) => f(`${label}: errors of ${int(load.requests)}`, int(load.errors), '0', load.errors === 0);
  const steady = m.mix.latency.p99;
  const p = m.publish;
  return [
    ...latency(`cache hits, ${at}, ${m.hits.connections} conn.`, m.hits.latency, 5),
    errors('cache hits', m.hits),
    f('cache hits at a fixed rate: 95% of each second\'s answers within', ms(m.hits.burstMs)),
    f(`cache hits, saturation, ${m.saturation.connections} conn.`, `${int(m.saturation.perSecond)} req/s`, '≥ 10,000 req/s', m.saturation.perSecond >= 10_000),
    f('cache hits, saturation: p99', ms(m.saturation.latency.p99)),
    errors('saturation', m.saturation),
    ...m.sweep.map((s) => f(`cache hits, ${at}, ${s.connections} conn.: p99 (autocannon's own; 95% in)`, `${ms(s.latency.p99)} (${s.autocannon.p99} ms; ${s.burstMs.toFixed(0)} ms)`)),
    ...latency(`mix 45% warm/45% cold/10% live, ${at}`, m.mix.latency, 10),
    ...Object.entries(m.mix.byKind).map(([kind, l]) => f(`mix, ${kind} customers (${int(l.requests)}): p99`, ms(l.p99))),
    errors('mix', m.mix),
    f(`paced ${at} (one every ${(1000 / m.rate).toFixed(2)} ms): cache hits p50 / max`, `${ms(m.pacedHits.latency.p50)} / ${ms(m.pacedHits.latency.max)}`),
    f(`paced ${at}: cache hits p99`, ms(m.pacedHits.latency.p99), '≤ 5 ms', m.pacedHits.latency.p99 <= 5),
    f(`paced ${at}: mix p50 / max`, `${ms(m.pacedMix.latency.p50)} / ${ms(m.pacedMix.latency.max)}`),
    f(`paced ${at}: mix p99`, ms(m.pacedMix.latency.p99), '≤ 10 ms', m.pacedMix.latency.p99 <= 10),
    f(`paced ${at}: requests sent late by the loader, p99 (hits / mix)`, `${ms(m.pacedHits.sendLag?.p99 ?? 0)} / ${ms(m.pacedMix.sendLag?.p99 ?? 0)}`),
    ...Object.entries(m.pacedMix.byKind).map(([kind, l]) => f(`paced mix, ${kind} customers (${int(l.requests)}): p99`, ms(l.p99))),
    errors('paced', { ...m.pacedHits, requests: m.pacedHits.requests + m.pacedMix.requests, errors: m.pacedHits.errors + m.pacedMix.errors }),
    ...(p ? [
      f(`mix across publish (${int(p.requests)} req.): p99`, ms(p.latency.p99), `≤ 2 × ${ms(steady)}`, p.latency.p99 <= 2 * steady),
      f('mix across publish: p99 before / after the switch', `${ms(p.beforeSwitch.p99)} / ${ms(p.afterSwitch.p99)}`),
      f('mix across publish: max', ms(p.latency.max)),
      errors('mix across publish', p),
      f('answers from the new run after its workflow returned', p.switchedAtMs === null ? 'never' : `${((p.switchedAtMs - p.publishedAtMs) / 1000).toFixed(2)} s`,
        'within seconds', p.switchedAtMs !== null && p.switchedAtMs - p.publishedAtMs < 10_000),
    ] : []),
    f('service CPU per request: cache hits (saturation) / mix / paced mix',
      [m.saturation, m.mix, m.pacedMix].map((l) => (l.serviceCpuMsPerRequest ?? 0).toFixed(3)).join(' / ') + ' ms'),
    f('load generator CPU per request: autocannon (saturation) / node:http (paced mix)',
      [m.saturation, m.pacedMix].map((l) => (l.loaderCpuMsPerRequest ?? 0).toFixed(3)).join(' / ') + ' ms'),
    f('service RSS after start / peak', `${int(m.rss.afterStart)} / ${int(m.rss.peak)} MiB`),
  ];
}

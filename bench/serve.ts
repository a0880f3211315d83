#!/usr/bin/env node
/**
 * `npm run bench:serve`: the recommendations service (`scoreflow serve`, its own process) on a shop of 1M
 * customers with a product-recs run published through Temporal, loaded by autocannon from this process:
 * cache hits at a fixed rate and at saturation, a mix of warm, cold and live customers, and the same mix
 * while the next run is published. Prints each figure beside the issue's goal and writes them to bench/results/.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApplicationFailure } from '@temporalio/common';
import { Command } from 'commander';
import { loadConfig } from '../lib/config.js';
import { makeLogger } from '../lib/logger.js';
import { PROJECT_ROOT } from '../lib/paths.js';
import { PRODUCT_RECS } from '../pipelines/index.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { seedRecsShop } from '../workers/recs-commands.js';
import { openRuntime, type Runtime } from '../workers/runtime.js';
import { benchEnv, type BenchPlace } from './bench-env.js';
import { measureRun } from './pipeline-run.js';
import { int, positiveInt, printFigures, secs, writeResults } from './report.js';
import { serveFigures, type ServeMeasurements } from './serve-figures.js';
import { runPacedLoad } from './paced-load.js';
import { runLoad, type LoadResult, type Pick } from './serve-load.js';
import { loadAcrossPublish, nextDay } from './serve-publish.js';
import { startServeProcess, type ServeProcess } from './serve-process.js';
import { addLiveCustomers, publishedRecsRun, recordSeededShop, sampleRunCustomers, seededShop, type ShopSql } from './serve-shop.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

/** bench:serve's own services, apart from `npm run bench`'s (which wipes .scoreflow/bench at start): its 1M shop survives between runs. */
const SERVE_PLACE: BenchPlace = { dir: 'bench-serve', pgPort: 5493, temporalPort: 7247, uiPort: 8247, sandboxPort: 8097, taskQueue: 'bench-serve' };

const counts = (v: string) => (v === 'none' ? [] : v.split(',').map((x) => positiveInt(x.trim())));

interface Options {
  customers: number;
  products: number;
  live: number;
  warm: number;
  rate: number;
  duration: number;
  connections: number;
  saturationConnections: number;
  sweep: number[];
  after: number;
  port: number;
  fresh: boolean;
  cpuProf: boolean;
  nodeFlags: string;
  publish: boolean;
  out: string;
}

const say = (line: string) => process.stderr.write(`bench:serve: ${line}\n`);

/** The shop of customers × products with a published product-recs run: the one in the database when its size matches, else seeded and run. */
async function publishedShop(rt: Runtime, o: Options, worker: () => Promise<WorkerProcess>) {
  const seeded = await seededShop(rt.pool);
  const published = await publishedRecsRun(rt.pool);
  if (seeded?.customers === o.customers && seeded.products === o.products && published && published.published >= o.customers) {
    say(`reusing the shop of ${int(o.customers)} customers × ${int(o.products)} products and run ${published.runId} already in ${rt.config.home} (--fresh seeds and scores again)`);
    return { reused: true, run: published };
  }
  say(`seeding ${int(o.customers)} customers × ${int(o.products)} products, then one product-recs run through Temporal (minutes at 1M; the next bench:serve of this size reuses them)`);
  const started = performance.now();
  const shop = await seedRecsShop(rt, { customers: o.customers, products: o.products });
  await rt.pool.query('vacuum analyze');
  await recordSeededShop(rt.pool, o);
  say(`seeded ${int(o.customers)} customers, ${int(shop.purchases)} purchases in ${secs(performance.now() - started)}`);
  await worker();
  const run = await measureRun(rt, { asOf: nextDay(published?.asOf ?? '2026-11-23'), crm: false, pipeline: PRODUCT_RECS });
  say(`run ${run.runId} published ${int(run.report.leads_published ?? 0)} customers in ${secs(run.wallMs)}`);
  return { reused: false, seedMs: performance.now() - started - run.wallMs, runMs: run.wallMs, run: (await publishedRecsRun(rt.pool))! };
}

/** Asks once for each customer (8 at a time), so their answers sit in the service's cache; returns the answers' sources. */
async function ask(service: ServeProcess, apiKey: string, ids: string[]): Promise<Record<string, number>> {
  const sources: Record<string, number> = {};
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      const res = await fetch(`${service.url}/v1/customers/${id}/recommendations`, { headers: { authorization: `Bearer ${apiKey}` } });
      const body = (await res.json()) as { source?: string };
      const source = res.status === 200 ? body.source! : `HTTP ${res.status}`;
      sources[source] = (sources[source] ?? 0) + 1;
    }
  }));
  return sources;
}

/** Picks customers at random: `warm` from the warmed set, `cold` each once from its pool (then warm), `live` from the live ones. */
function makePicker(sets: { warm: string[]; cold: string[]; live: string[] }, shares: { cold: number; live: number }): () => Pick {
  let cold = 0;
  const any = (xs: string[]) => xs[Math.floor(Math.random() * xs.length)]!;
  return () => {
    const r = Math.random();
    if (r < shares.live) return { kind: 'live', id: any(sets.live) };
    if (r < shares.live + shares.cold && cold < sets.cold.length) return { kind: 'cold', id: sets.cold[cold++]! };
    return { kind: 'warm', id: any(sets.warm) };
  };
}

async function main(o: Options): Promise<void> {
  const env = benchEnv(SERVE_PLACE);
  const loadAtStart = os.loadavg();
  say(`load average ${loadAtStart.map((l) => l.toFixed(2)).join(', ')} on ${os.cpus().length} cores${loadAtStart[0]! > os.cpus().length ? ': other processes compete for the CPU, take the times as rough' : ''}`);
  if (o.fresh) fs.rmSync(env['SCOREFLOW_HOME']!, { recursive: true, force: true });
  const config = loadConfig(env);
  const log = makeLogger(config.logLevel ?? 'warn');
  say(`starting PostgreSQL and Temporal under ${config.home}`);
  const rt = await openRuntime(config, log, { temporal: true });
  const def = rt.pipelines.get(PRODUCT_RECS);
  const shop: ShopSql = {
    customers: parseLeadsTable(def.source.table),
    products: parseLeadsTable(def.source.tables!.products),
    purchases: parseLeadsTable(def.source.tables!.purchases),
  };
  let worker: WorkerProcess | undefined;
  const startWorker = async () => (worker ??= await startWorkerProcess(rt));
  let service: ServeProcess | undefined;
  try {
    const data = await publishedShop(rt, o, startWorker);
    const live = await addLiveCustomers(rt.pool, shop, o.live);
    say(`added ${int(live.length)} live customers (purchases after run ${data.run.runId}, no row in it)`);

    const rate = o.rate;
    const coldNeeded = 3 * Math.ceil(rate * Math.max(o.duration, 120) * 0.45);
    const model = await sampleRunCustomers(rt.pool, { runId: data.run.runId, source: 'model', maxId: o.customers, count: o.warm * 2 + coldNeeded });
    const warm = model.slice(0, Math.min(o.warm, Math.floor(model.length / 4)));
    const coldAll = model.slice(warm.length);
    const third = Math.floor(coldAll.length / 3);
    const [coldMix, coldPaced, coldPublish] = [coldAll.slice(0, third), coldAll.slice(third, 2 * third), coldAll.slice(2 * third)];
    const popular = await sampleRunCustomers(rt.pool, { runId: data.run.runId, source: 'popular', maxId: o.customers, count: 20 });

    const apiKey = randomBytes(24).toString('hex');
    const profileDir = path.join(config.home, 'cpu-profiles');
    say(`starting scoreflow serve (its own process)${o.nodeFlags ? ` with ${o.nodeFlags}` : ''}${o.cpuProf ? `, CPU profile into ${profileDir}` : ''}`);
    service = await startServeProcess({
      databaseUrl: rt.databaseUrl, port: o.port, apiKey,
      nodeFlags: [...(o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...o.nodeFlags.split(' ').filter(Boolean)],
    });
    const rss = { afterStart: service.rssMiB().now, peak: 0 };

    const sources = {
      warm: await ask(service, apiKey, warm),
      live: await ask(service, apiKey, live.slice(0, 20)),
      popular: await ask(service, apiKey, popular),
    };
    say(`warmed ${int(warm.length)} customers; answers by source: ${JSON.stringify(sources)}`);
    const cpuOf = async <T extends { result: LoadResult }>(load: Promise<T>): Promise<T> => {
      const [before, loader] = [service!.cpuMs(), process.cpuUsage()];
      const r = await load;
      const used = process.cpuUsage(loader);
      r.result.serviceCpuMsPerRequest = (service!.cpuMs() - before) / Math.max(1, r.result.requests);
      r.result.loaderCpuMsPerRequest = (used.user + used.system) / 1000 / Math.max(1, r.result.requests);
      return r;
    };
    const onlyWarm = () => ({ kind: 'warm', id: warm[Math.floor(Math.random() * warm.length)]! });

    say(`cache hits at ${int(rate)} req/s, ${o.connections} connections, ${o.duration} s`);
    const { result: hits } = await cpuOf(runLoad({ url: service.url, apiKey, connections: o.connections, rate, seconds: o.duration, pick: onlyWarm, inspect: true }));
    say(`cache hits at saturation, ${o.saturationConnections} connections, ${o.duration} s`);
    const { result: saturation } = await cpuOf(runLoad({ url: service.url, apiKey, connections: o.saturationConnections, rate: 0, seconds: o.duration, pick: onlyWarm, inspect: false }));
    const sweep = [];
    for (const connections of o.sweep) {
      say(`cache hits at ${int(rate)} req/s with ${connections} connections, ${o.duration} s`);
      const { result: r } = await runLoad({ url: service.url, apiKey, connections, rate, seconds: o.duration, pick: onlyWarm, inspect: false });
      sweep.push({ connections, latency: r.latency, autocannon: r.autocannon, burstMs: r.burstMs, errors: r.errors });
    }

    say(`mix (45% warm, 45% cold, 10% live) at ${int(rate)} req/s, ${o.duration} s`);
    const { result: mix } = await cpuOf(runLoad({ url: service.url, apiKey, connections: o.connections, rate, seconds: o.duration,
      pick: makePicker({ warm, cold: coldMix, live }, { cold: 0.45, live: 0.1 }), inspect: true }));
    say(`the same, paced: one request every ${(1000 / rate).toFixed(2)} ms (node:http, open loop), cache hits then the mix, ${o.duration} s each`);
    const { result: pacedHits } = await cpuOf(runPacedLoad({ url: service.url, apiKey, rate, seconds: o.duration, pick: onlyWarm }));
    const { result: pacedMix } = await cpuOf(runPacedLoad({ url: service.url, apiKey, rate, seconds: o.duration,
      pick: makePicker({ warm, cold: coldPaced, live }, { cold: 0.45, live: 0.1 }) }));
    rss.peak = service.rssMiB().peak;

    let publish: ServeMeasurements['publish'];
    if (o.publish) {
      await startWorker();
      publish = await loadAcrossPublish(rt, { ...o, say }, { service, apiKey, fromRun: data.run, pick: makePicker({ warm, cold: coldPublish, live }, { cold: 0.45, live: 0.1 }) });
      rss.peak = service.rssMiB().peak;
    }

    const measured: ServeMeasurements = {
      customers: o.customers, products: o.products, live: live.length, warm: warm.length, rate,
      data, sources, hits, saturation, sweep, mix, pacedHits, pacedMix, ...(publish ? { publish } : {}), rss,
    };
    const figures = serveFigures(measured);
    process.stdout.write(`\n${printFigures(figures)}\n`);
    const results = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAverageAtStart: loadAtStart, loadAverageAtEnd: os.loadavg() },
      options: o,
      ...measured,
      figures,
    };
    writeResults(o.out, { prefix: 'serve', latest: 'serve-latest.json', date: results.date, results, say });
  } finally {
    await service?.stop();
    await worker?.stop();
    await rt.close();
  }
}

const program = new Command('bench:serve')
  .description('load scoreflow serve with autocannon on a shop of 1M customers: cache hits, a cold/live mix, and the mix across a publish')
  .option('--customers <n>', 'customers in the shop (and in the published run)', positiveInt, 1_000_000)
  .option('--products <n>', 'products in the shop (the shipped model\'s item index has 5,000)', positiveInt, 5_000)
  .option('--live <n>', 'customers added with purchases after the run (answered live)', positiveInt, 10_000)
  .option('--warm <n>', 'customers warmed into the cache before the cache-hit loads', positiveInt, 10_000)
  .option('--rate <n>', 'requests a second of the fixed-rate loads', positiveInt, 1_000)
  .option('--duration <s>', 'seconds of each load', positiveInt, 20)
  .option('--connections <n>', 'connections of the fixed-rate loads', positiveInt, 10)
  .option('--saturation-connections <n>', 'connections of the saturation load', positiveInt, 32)
  .option('--sweep <list>', 'also cache hits at the fixed rate with each of these connection counts, or none', counts, [1, 50])
  .option('--no-publish', 'skip the load across the next run\'s publication (and its minutes of scoring)')
  .option('--after <s>', 'seconds the publish load goes on after the service switched runs', positiveInt, 10)
  .option('--port <n>', 'port of the service', positiveInt, 8093)
  .option('--fresh', 'seed and score again even when the database holds a run of this size', false)
  .option('--cpu-prof', 'write a V8 CPU profile of the service (node --cpu-prof) under the bench\'s home', false)
  .option('--node-flags <flags>', 'node options for the service process, e.g. "--max-semi-space-size=32"', '')
  .option('--out <dir>', 'where the JSON figures go', path.join(PROJECT_ROOT, 'bench', 'results'))
  .action(async (o: Options) => main(o));

program.parseAsync().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench:serve: ${err instanceof ApplicationFailure ? err.type : err.name}: ${err.message}\n`);
    process.exit(1);
  },
);

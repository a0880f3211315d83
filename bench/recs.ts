import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import ort from 'onnxruntime-node';
import copyStreams from 'pg-copy-streams';
import { inWritesOf64KiB } from '../db/copy-text.js';
import { withClient } from '../db/pool.js';
import { loadRecsModelDir, type LoadedRecsModel } from '../models/recs-model.js';
import { TOP_K_SLICE_ROWS } from '../models/top-k.js';
import { PRODUCT_RECS } from '../pipelines/index.js';
import { drawCustomers, makeCatalogue, shopParams, SHOP_DEFAULTS } from '../source/synthetic-shop.js';
import { seedRecsShop } from '../workers/recs-commands.js';
import type { Runtime } from '../workers/runtime.js';
import { timed, type Measured } from './measure.js';
import { measureRun, type MeasuredRun } from './pipeline-run.js';
import { benchRecsModel, type BenchRecsModel } from './recs-model.js';
import { startWorkerProcess } from './worker-process.js';

/** What the recommender section measured, in one run on one database. */
export interface RecsMeasurements {
  customers: number;
  /** Products asked for (--recs-products) and products the shop was generated with. */
  productsRequested: number;
  products: number;
  /** Products in the model's item index: the shop is never larger. */
  modelItems: number;
  /** The model scored with: the shipped one, or one trained on the bench shop (see bench/recs-model.ts). */
  model: BenchRecsModel;
  purchases: number;
  seedMs: number;
  /** onnxruntime alone on every customer's dense history, TOP_K_SLICE_ROWS customers a call. */
  inference: Measured;
  /** COPY in of k result rows per customer into a plain table. */
  copyIn: Measured;
  run: MeasuredRun;
  /** Peak RSS of the one `scoreflow worker` process, in MiB. */
  rss: number;
}

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
const DAY_MS = 86_400_000;

/**
 * onnxruntime alone: the dense history [slice, n_items] built as the pipeline builds it (recency weights
 * summed per product in the item index, as of the shop's end) from the synthetic shop drawn in memory, the
 * active mask from the catalogue; only `session.run` is timed.
 */
async function inferenceAlone(model: LoadedRecsModel, o: { customers: number; products: number }): Promise<Measured> {
  const cat = makeCatalogue(shopParams({ customers: o.customers, products: o.products, seed: SHOP_DEFAULTS.seed }));
  const n = model.productIds.length;
  const position = new Map(model.productIds.map((id, i) => [Number(id), i]));
  const activeById = new Map(cat.products.map((p) => [p.productId, p.active]));
  const active = new ort.Tensor('bool', Uint8Array.from(model.productIds, (id) => (activeById.get(Number(id)) ? 1 : 0)), [n]);
  const [historyName, activeName] = model.card.inputs.map((i) => i.name) as [string, string];
  const halfLife = model.card.history.half_life_days;
  const snapshot = cat.params.endMs;
  const history = new Float32Array(TOP_K_SLICE_ROWS * n);
  let rows = 0;
  let inSlice = 0;
  let ms = 0;
  const run = async () => {
    const start = performance.now();
    await model.session.run({ [historyName]: new ort.Tensor('float32', history.subarray(0, inSlice * n), [inSlice, n]), [activeName]: active });
    ms += performance.now() - start;
    rows += inSlice;
    inSlice = 0;
    history.fill(0);
  };
  for (const c of drawCustomers(cat)) {
    for (const p of c.purchases) {
      const at = position.get(p.productId);
      if (at === undefined || p.occurredAtMs >= snapshot) continue;
      history[inSlice * n + at] = history[inSlice * n + at]! + 0.5 ** ((snapshot - p.occurredAtMs) / DAY_MS / halfLife);
    }
    if (++inSlice === TOP_K_SLICE_ROWS) await run();
  }
  if (inSlice > 0) await run();
  return { rows, ms };
}

/** PostgreSQL alone for the recommender's output: COPY in of k rows a customer (customer, rank, product, score, source). */
async function copyIn(rt: Runtime, customers: number, k: number, products: number): Promise<Measured> {
  await rt.pool.query('create schema if not exists bench');
  await rt.pool.query('drop table if exists bench.recs_copied');
  await rt.pool.query('create table bench.recs_copied (customer_id bigint not null, rank smallint not null, product_id bigint not null, score real not null, source text not null)');
  return timed(() =>
    withClient(rt.pool, async (client) => {
      const lines = (function* () {
        for (let c = 1; c <= customers; c++) {
          for (let r = 1; r <= k; r++) yield `${c}\t${r}\t${((c * 7919 + r * 104729) % products) + 1}\t${(1 / r).toFixed(4)}\tmodel\n`;
        }
      })();
      await pipeline(Readable.from(inWritesOf64KiB(lines)), client.query(copyStreams.from('copy bench.recs_copied (customer_id, rank, product_id, score, source) from stdin')));
      return customers * k;
    }),
  );
}

/**
 * The recommender section: picks the model (the shipped one if its item index covers the products, else
 * one trained on the bench shop, cached), seeds the synthetic shop (customers × products), then
 * onnxruntime alone, COPY in of the result rows, and the whole product-recs run through Temporal with
 * one `scoreflow worker` process scoring with that model (SCOREFLOW_RECS_MODEL_DIR).
 */
export async function benchRecs(rt: Runtime, o: { customers: number; products: number; asOf: string; cpuProf?: string }): Promise<RecsMeasurements> {
  const picked = await benchRecsModel({ shippedDir: rt.config.recs.modelDir, customers: o.customers, products: o.products, say });
  if (picked.source !== 'shipped') {
    say(`recommender: model ${picked.source === 'cached' ? 'cached' : `trained in ${((picked.trainMs ?? 0) / 1000).toFixed(1)} s`} on the bench shop's first ${(picked.trainCustomers ?? 0).toLocaleString('en-US')} customers: ${picked.dir}`);
  }
  const model = await loadRecsModelDir(picked.dir);
  try {
    const modelItems = model.productIds.length;
    const products = Math.min(o.products, modelItems);
    if (products < o.products) {
      say(`recommender: the model's item index has ${modelItems.toLocaleString('en-US')} products, so the bench shop has ${products.toLocaleString('en-US')} (not ${o.products.toLocaleString('en-US')})`);
    }
    const seedStart = performance.now();
    const seeded = await seedRecsShop(rt, { customers: o.customers, products });
    await rt.pool.query('vacuum analyze');
    const seedMs = performance.now() - seedStart;
    say(`recommender: seeded ${o.customers.toLocaleString('en-US')} customers, ${products.toLocaleString('en-US')} products, ${seeded.purchases.toLocaleString('en-US')} purchases in ${(seedMs / 1000).toFixed(2)} s`);

    say('recommender: onnxruntime alone on every customer\'s dense history');
    const inference = await inferenceAlone(model, { customers: o.customers, products });
    say(`recommender: COPY in of ${(o.customers * model.card.k).toLocaleString('en-US')} result rows`);
    const copy = await copyIn(rt, o.customers, model.card.k, products);

    say(`recommender: product-recs through Temporal on ${o.customers.toLocaleString('en-US')} customers (one scoreflow worker process)`);
    const worker = await startWorkerProcess(rt, { SCOREFLOW_RECS_MODEL_DIR: picked.dir }, o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProf}`] : []);
    let run: MeasuredRun, rss: number;
    try {
      run = await measureRun(rt, { asOf: o.asOf, crm: false, pipeline: PRODUCT_RECS });
      rss = worker.peakRssMiB();
    } finally {
      await worker.stop();
    }
    return { customers: o.customers, productsRequested: o.products, products, modelItems, model: picked, purchases: seeded.purchases, seedMs, inference, copyIn: copy, run, rss };
  } finally {
    await model.session.release();
  }
}

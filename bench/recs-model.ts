import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { PROJECT_ROOT, scoreflowCacheDir } from '../lib/paths.js';
import { readRecsCardSize } from '../models/recs-model.js';
import { writeShopCsv } from '../source/shop-csv.js';
import { SHOP_DEFAULTS, shopParams } from '../source/synthetic-shop.js';

const run = promisify(execFile);
const TRAINER = path.join(PROJECT_ROOT, 'models', 'product-recs');

/** Customers of the bench shop the bench model is trained on at most: the first ones (each is drawn from its own stream). */
export const BENCH_TRAIN_CUSTOMERS = 200_000;

/** The model the recommender section scores with, and where it came from. */
export interface BenchRecsModel {
  dir: string;
  /** shipped: models/product-recs covers the shop; trained: trained on the bench shop now; cached: trained by an earlier bench. */
  source: 'shipped' | 'trained' | 'cached';
  /** Customers of the bench shop it was trained on (trained or cached). */
  trainCustomers?: number;
  /** Wall time of the export and training (trained only). */
  trainMs?: number;
}

const sha8 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 8);

/**
 * The shipped model when its item index covers the shop's products; otherwise a model trained by
 * models/product-recs/train.py (pinned requirements, in a venv under the scoreflow cache) on the first
 * BENCH_TRAIN_CUSTOMERS customers of the same synthetic shop, cached under ~/.cache/scoreflow/bench-models/
 * by the shop's parameters and the trainer's and requirements' hashes.
 */
export async function benchRecsModel(o: { shippedDir: string; customers: number; products: number; say: (line: string) => void }): Promise<BenchRecsModel> {
  if (o.products <= readRecsCardSize(o.shippedDir)) return { dir: o.shippedDir, source: 'shipped' };
  const trainCustomers = Math.min(o.customers, BENCH_TRAIN_CUSTOMERS);
  const { seed, weeks, ordersPerYear } = SHOP_DEFAULTS;
  const trainer = `t${sha8(path.join(TRAINER, 'train.py'))}-r${sha8(path.join(TRAINER, 'requirements.txt'))}`;
  const dir = path.join(scoreflowCacheDir(), 'bench-models', `shop-c${trainCustomers}-p${o.products}-s${seed}-w${weeks}-o${ordersPerYear}-${trainer}`);
  if (fs.existsSync(path.join(dir, 'model-card.json'))) return { dir, source: 'cached', trainCustomers };

  const started = performance.now();
  const python = await trainingVenv(o.say);
  const staging = `${dir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    const data = path.join(staging, 'data');
    o.say(`recommender: exporting the first ${trainCustomers.toLocaleString('en-US')} customers × ${o.products.toLocaleString('en-US')} products of the bench shop for training`);
    await writeShopCsv(shopParams({ customers: trainCustomers, products: o.products, seed, weeks, ordersPerYear }), data);
    o.say(`recommender: training a ${o.products.toLocaleString('en-US')}-item model (models/product-recs/train.py) into ${dir}`);
    await run(python, [path.join(TRAINER, 'train.py'), '--interactions', path.join(data, 'interactions.csv'), '--products', path.join(data, 'products.csv'),
      '--out', path.join(staging, 'model'), '--data-name', `bench shop, first ${trainCustomers} customers × ${o.products} products, seed ${seed}`],
    { maxBuffer: 1 << 24 });
    fs.rmSync(data, { recursive: true, force: true });
    publish(path.join(staging, 'model'), dir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return { dir, source: 'trained', trainCustomers, trainMs: performance.now() - started };
}

/** A venv with the trainer's pinned requirements under the scoreflow cache (keyed by their hash), made once. */
export async function trainingVenv(say: (line: string) => void): Promise<string> {
  const requirements = path.join(TRAINER, 'requirements.txt');
  const venv = path.join(scoreflowCacheDir(), `recs-train-venv-${sha8(requirements)}`);
  const python = path.join(venv, 'bin', 'python');
  if (fs.existsSync(path.join(venv, '.complete'))) return python;
  say(`recommender: installing the trainer's pinned requirements into ${venv} (once)`);
  const staging = `${venv}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    await run('python3', ['-m', 'venv', staging]);
    await run(path.join(staging, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '-r', requirements], { maxBuffer: 1 << 24 });
    fs.writeFileSync(path.join(staging, '.complete'), '');
    publish(staging, venv);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return python;
}

/** Moves a finished directory into place; a concurrent bench that won the race is fine. */
function publish(staging: string, dir: string): void {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  try {
    fs.renameSync(staging, dir);
  } catch (err) {
    if (!fs.existsSync(dir)) throw err;
  }
}

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainingVenv } from '../../bench/recs-model.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { SHOP_FILES, writeShopCsv } from '../../source/shop-csv.js';
import { shopParams } from '../../source/synthetic-shop.js';

const run = promisify(execFile);
const TRAIN = path.join(PROJECT_ROOT, 'models', 'product-recs', 'train.py');
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let python: string;
let dir: string;
beforeAll(async () => {
  // The trainer's pinned requirements, in a venv under ~/.cache/scoreflow (made once, from the PyPI mirror).
  python = await trainingVenv(() => {});
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recs-trainer-'));
}, 600_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Rewrites interactions.csv with `occurred_at` in Unix seconds, as another shop's export might have it. */
function toUnixSeconds(file: string): void {
  const [header, ...lines] = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  const at = header!.split(',').indexOf('occurred_at');
  const rows = lines.map((line) => {
    const fields = line.split(',');
    fields[at] = String(Date.parse(fields[at]!) / 1000);
    return fields.join(',');
  });
  fs.writeFileSync(file, `${[header, ...rows].join('\n')}\n`);
}

describe('the product-recs trainer (models/product-recs/train.py)', () => {
  it('trains on an interactions file with Unix-second times and no products file, and writes a card, item index and golden vectors onnxruntime-node reproduces', async () => {
    const data = path.join(dir, 'unix');
    await writeShopCsv(shopParams({ customers: 4_000, products: 240, seed: 7 }), data);
    const interactions = path.join(data, SHOP_FILES.interactions);
    toUnixSeconds(interactions);
    const out = path.join(dir, 'model');
    await run(python, [TRAIN, '--interactions', interactions, '--out', out, '--version', '0.0.1-test'], { maxBuffer: 1 << 24 });

    const card = JSON.parse(fs.readFileSync(path.join(out, 'model-card.json'), 'utf8')) as {
      version: string; sha256: string; k: number; file: string; trained_at: string;
      item_index: { file: string; sha256: string; size: number };
      evaluation: Record<'model' | 'popularity', Record<'recall@5' | 'ndcg@5' | 'map@5' | 'coverage', number>>;
    };
    expect(card.version).toBe('0.0.1-test');
    expect(card.k).toBe(5);
    expect(sha256(path.join(out, card.file))).toBe(card.sha256);
    expect(sha256(path.join(out, card.item_index.file))).toBe(card.item_index.sha256);
    const index = JSON.parse(fs.readFileSync(path.join(out, card.item_index.file), 'utf8')) as { product_ids: string[]; active_at_training: boolean[] };
    expect(index.product_ids).toHaveLength(card.item_index.size);
    // Without a products file every product is active.
    expect(index.active_at_training.every(Boolean)).toBe(true);
    for (const who of ['model', 'popularity'] as const) {
      for (const metric of ['recall@5', 'ndcg@5', 'map@5', 'coverage'] as const) {
        expect(card.evaluation[who][metric]).toBeGreaterThanOrEqual(0);
        expect(card.evaluation[who][metric]).toBeLessThanOrEqual(1);
      }
    }
    expect(card.evaluation.model['ndcg@5']).toBeGreaterThan(0);

    const golden = JSON.parse(fs.readFileSync(path.join(out, 'golden.json'), 'utf8')) as {
      model_sha256: string; tolerance: number; rows: Array<{ history: Record<string, number>; items: number[]; scores: number[] }>;
    };
    expect(golden.model_sha256).toBe(card.sha256);
    expect(golden.rows.length).toBeGreaterThan(0);
    const n = card.item_index.size;
    const history = new Float32Array(golden.rows.length * n);
    golden.rows.forEach((row, r) => Object.entries(row.history).forEach(([i, w]) => (history[r * n + Number(i)] = w)));
    const session = await ort.InferenceSession.create(fs.readFileSync(path.join(out, card.file)));
    try {
      const got = await session.run({ history: new ort.Tensor('float32', history, [golden.rows.length, n]), active: new ort.Tensor('bool', new Uint8Array(n).fill(1), [n]) });
      const items = Array.from(got.items!.data as BigInt64Array, Number);
      const scores = Array.from(got.scores!.data as Float32Array);
      golden.rows.forEach((row, r) => {
        expect(items.slice(r * 5, r * 5 + 5)).toEqual(row.items);
        row.scores.forEach((s, j) => expect(Math.abs(scores[r * 5 + j]! - s)).toBeLessThanOrEqual(golden.tolerance));
      });
    } finally {
      await session.release();
    }
  }, 300_000);

  it('stops with a message naming the missing column when the interactions file lacks one', async () => {
    const file = path.join(dir, 'bad.csv');
    fs.writeFileSync(file, 'customer_id,product_id\n1,2\n');
    const failed = await run(python, [TRAIN, '--interactions', file, '--out', path.join(dir, 'bad-model')]).then(() => undefined, (err: { code: number; stderr: string }) => err);
    expect(failed?.code).not.toBe(0);
    expect(failed?.stderr).toContain("lacks column(s) ['occurred_at']");
    expect(fs.existsSync(path.join(dir, 'bad-model', 'model-card.json'))).toBe(false);
  }, 120_000);
});

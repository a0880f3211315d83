import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.js';

const modelDir = path.join(PROJECT_ROOT, 'models', 'product-recs');
const read = (file: string) => fs.readFileSync(path.join(modelDir, file));
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const card = JSON.parse(read('model-card.json').toString('utf8')) as {
  file: string;
  sha256: string;
  k: number;
  item_index: { file: string; sha256: string; size: number };
  inputs: Array<{ name: string; shape: Array<string | number> }>;
  outputs: Array<{ name: string; shape: Array<string | number> }>;
};
const index = JSON.parse(read(card.item_index.file).toString('utf8')) as { product_ids: string[]; active_at_training: boolean[] };
const golden = JSON.parse(read('golden.json').toString('utf8')) as {
  model_sha256: string;
  tolerance: number;
  rows: Array<{ history: Record<string, number>; items: number[]; scores: number[] }>;
};
const n = card.item_index.size;

let session: ort.InferenceSession;
beforeAll(async () => {
  session = await ort.InferenceSession.create(read(card.file), { intraOpNumThreads: 1, interOpNumThreads: 1 });
});

/** Dense recency-weighted histories, one row per customer, in item-index order. */
function histories(rows: Array<Record<string, number>>): ort.Tensor {
  const data = new Float32Array(rows.length * n);
  rows.forEach((row, r) => Object.entries(row).forEach(([i, w]) => (data[r * n + Number(i)] = w)));
  return new ort.Tensor('float32', data, [rows.length, n]);
}

async function recommend(rows: Array<Record<string, number>>, active = index.active_at_training) {
  const out = await session.run({ history: histories(rows), active: new ort.Tensor('bool', Uint8Array.from(active, Number), [n]) });
  const items = Array.from(out.items!.data as BigInt64Array, Number);
  const scores = Array.from(out.scores!.data as Float32Array);
  return rows.map((_, r) => ({ items: items.slice(r * card.k, (r + 1) * card.k), scores: scores.slice(r * card.k, (r + 1) * card.k) }));
}

describe('the bundled product-recs model', () => {
  it('is the file its card and golden vectors name, with the item index the card hashes', () => {
    expect(sha256(read(card.file))).toBe(card.sha256);
    expect(golden.model_sha256).toBe(card.sha256);
    expect(sha256(read(card.item_index.file))).toBe(card.item_index.sha256);
    expect(index.product_ids).toHaveLength(n);
    expect([...session.inputNames].sort()).toEqual(card.inputs.map((i) => i.name).sort());
    expect([...session.outputNames].sort()).toEqual(card.outputs.map((o) => o.name).sort());
  });

  it('reproduces the golden items and scores computed with onnxruntime in Python', async () => {
    const got = await recommend(golden.rows.map((row) => row.history));
    got.forEach((g, r) => {
      expect(g.items).toEqual(golden.rows[r]!.items);
      g.scores.forEach((s, j) => expect(Math.abs(s - golden.rows[r]!.scores[j]!)).toBeLessThanOrEqual(golden.tolerance));
    });
  });

  it('scores a customer alone exactly as within a batch', async () => {
    const batch = await recommend(golden.rows.map((row) => row.history));
    const alone = await recommend([golden.rows[1]!.history]);
    expect(alone[0]).toEqual(batch[1]);
  });

  it('never recommends a product the customer bought or one that is not on sale', async () => {
    const [before] = await recommend([golden.rows[0]!.history]);
    const bought: Record<number, number> = { ...golden.rows[0]!.history, [before!.items[0]!]: 0.01, [before!.items[1]!]: 0.5 };
    const active = [...index.active_at_training];
    active[before!.items[2]!] = false;
    const [after] = await recommend([bought], active);
    expect(after!.items).toHaveLength(5);
    expect(after!.items).not.toContain(before!.items[0]);
    expect(after!.items).not.toContain(before!.items[1]);
    expect(after!.items).not.toContain(before!.items[2]);
    for (const item of after!.items) {
      expect(bought[item]).toBeUndefined();
      expect(active[item]).toBe(true);
    }
  });

  it('never recommends a product discontinued at training, whatever the history', async () => {
    const inactive = index.active_at_training.flatMap((a, i) => (a ? [] : [i]));
    expect(inactive.length).toBeGreaterThan(0);
    const got = await recommend([...golden.rows.map((row) => row.history), Object.fromEntries(inactive.map((i) => [i, 1]))]);
    for (const g of got) for (const item of g.items) expect(index.active_at_training[item]).toBe(true);
  });

  it('returns five distinct products on sale for a customer with no purchases', async () => {
    const [empty] = await recommend([{}]);
    expect(new Set(empty!.items).size).toBe(5);
    for (const item of empty!.items) expect(index.active_at_training[item]).toBe(true);
    for (const s of empty!.scores) expect(Number.isFinite(s)).toBe(true);
  });

  it('marks the slots it cannot fill with -Infinity when fewer than five products remain', async () => {
    const active = index.active_at_training.map((_, i) => i < 3);
    const [few] = await recommend([{ 0: 1 }], active);
    expect(few!.items.slice(0, 2).sort()).toEqual([1, 2]);
    expect(few!.scores.slice(2)).toEqual([-Infinity, -Infinity, -Infinity]);
  });
});

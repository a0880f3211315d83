import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { loadRecsModelDir, type LoadedRecsModel } from '../../models/recs-model.js';
import { recommend, sliceBuffers, TOP_K_SLICE_ROWS } from '../../models/top-k.js';

let model: LoadedRecsModel;
beforeAll(async () => {
  model = await loadRecsModelDir(path.join(PROJECT_ROOT, 'models', 'product-recs'));
});

const allActive = () => new Map(model.productIds.map((id) => [id, true]));
const popular = (ids: string[]) => ids.map((productId, i) => ({ productId, purchases: 100 - i }));

describe('top-k recommendations of a chunk', () => {
  it('never recommends a purchased or inactive product, and ignores products the model was not trained on', async () => {
    const [bought, inactive] = [model.productIds[0]!, model.productIds[1]!];
    const active = allActive();
    active.set(inactive, false);
    const [recs] = await recommend(model, {
      customerIds: ['7'],
      purchases: [{ customerId: '7', productId: bought, weight: 1 }, { customerId: '7', productId: '99999999', weight: 1 }],
      active,
      popular: [],
    });
    expect(recs).toMatchObject({ customerId: '7', source: 'model' });
    expect(recs!.items).toHaveLength(5);
    expect(new Set(recs!.items.map((i) => i.productId)).size).toBe(5);
    expect(recs!.items.map((i) => i.productId)).not.toContain(bought);
    expect(recs!.items.map((i) => i.productId)).not.toContain(inactive);
    expect(recs!.shortReason).toBeUndefined();
  });

  it('returns fewer than five, with the reason, when fewer eligible products remain', async () => {
    const active = new Map(model.productIds.slice(0, 4).map((id) => [id, true]));
    const [recs] = await recommend(model, {
      customerIds: ['7'], purchases: [{ customerId: '7', productId: model.productIds[0]!, weight: 0.5 }], active, popular: [],
    });
    expect(recs!.items.map((i) => i.productId).sort()).toEqual(model.productIds.slice(1, 4).sort());
    expect(recs!.shortReason).toContain('only 3 active products');
  });

  it('gives customers without a purchase in the index the popularity list minus what they bought, marked popular', async () => {
    const list = popular(['11', '12', '13', '14', '15', '16', '17']);
    const recs = await recommend(model, {
      customerIds: ['1', '2'],
      purchases: [{ customerId: '2', productId: '99999999', weight: 1 }, { customerId: '2', productId: '12', weight: 0 }],
      active: allActive(),
      popular: list,
    });
    expect(recs.map((r) => [r.customerId, r.source, r.items.map((i) => i.productId)])).toEqual([
      ['1', 'popular', ['11', '12', '13', '14', '15']],
      ['2', 'popular', ['11', '13', '14', '15', '16']],
    ]);
  });

  it('gives the same customer the same recommendations alone or in a chunk', async () => {
    const inputs = {
      customerIds: ['1', '2', '3'],
      purchases: model.productIds.slice(10, 16).map((productId, i) => ({ customerId: String(1 + (i % 3)), productId, weight: 0.3 + i / 10 })),
      active: allActive(),
      popular: [],
    };
    const together = await recommend(model, inputs);
    const alone = await recommend(model, { ...inputs, customerIds: ['2'] });
    expect(alone[0]!.items.map((i) => i.productId)).toEqual(together[1]!.items.map((i) => i.productId));
  });

  it('reuses two slice buffers across batches larger than a slice, handing them back zeroed, with the same recommendations as fresh buffers', async () => {
    const customerIds = Array.from({ length: TOP_K_SLICE_ROWS * 2 + 7 }, (_, i) => String(i + 1));
    const purchases = customerIds.flatMap((customerId, i) =>
      [0, 1, 2].map((j) => ({ customerId, productId: model.productIds[(i * 7 + j * 13) % model.productIds.length]!, weight: 1 / (j + 1) })));
    const inputs = { customerIds, purchases, active: allActive(), popular: [] };
    const buffers = sliceBuffers(model);
    const first = await recommend(model, inputs, () => {}, buffers);
    expect(buffers.free).toHaveLength(2);
    for (const b of buffers.free) expect(new Float32Array(b).every((v) => v === 0)).toBe(true);
    const again = await recommend(model, inputs, () => {}, buffers);
    const fresh = await recommend(model, inputs);
    expect(again).toEqual(first);
    expect(fresh).toEqual(first);
    expect(first.every((r) => r.source === 'model' && r.items.length === 5)).toBe(true);
  });
});

import ort from 'onnxruntime-node';
import type { LoadedRecsModel } from './recs-model.js';

/** Customers per onnxruntime call: 500 × 5,000 items is a 10 MB history tensor, and heartbeats flow between calls. */
export const TOP_K_SLICE_ROWS = 500;

/** One customer's recommendations, best first: from the model, or the popularity list for an empty history. */
export interface CustomerRecs {
  customerId: string;
  source: 'model' | 'popular';
  items: Array<{ productId: string; score: number }>;
  /** Set when fewer than k products are returned: why. */
  shortReason?: string;
}

/** What top-k scoring needs of a chunk (see readChunkHistory). */
export interface TopKInputs {
  customerIds: string[];
  purchases: Array<{ customerId: string; productId: string; weight: number }>;
  active: Map<string, boolean>;
  popular: Array<{ productId: string; purchases: number }>;
}

/**
 * Builds the dense history [customers, n_items] (products missing from the item index, launched after
 * training, are dropped) and the active mask (a product missing from the products table is inactive),
 * runs the graph a slice at a time, and maps item positions to product ids, dropping -Infinity slots.
 * Customers with no purchase in the index get the popularity list minus anything they bought.
 */
export async function recommend(model: LoadedRecsModel, inputs: TopKInputs, onSlice: (done: number) => void = () => {}): Promise<CustomerRecs[]> {
  const n = model.productIds.length;
  const k = model.card.k;
  const position = new Map(model.productIds.map((id, i) => [id, i]));
  const row = new Map(inputs.customerIds.map((id, i) => [id, i]));
  const history = new Float32Array(inputs.customerIds.length * n);
  const bought = new Map<string, Set<string>>();
  const hasHistory = new Uint8Array(inputs.customerIds.length);
  for (const p of inputs.purchases) {
    const r = row.get(p.customerId);
    if (r === undefined) continue;
    let set = bought.get(p.customerId);
    if (!set) bought.set(p.customerId, (set = new Set()));
    set.add(p.productId);
    const at = position.get(p.productId);
    if (at === undefined || !(p.weight > 0)) continue;
    history[r * n + at] = history[r * n + at]! + p.weight;
    hasHistory[r] = 1;
  }
  const active = new ort.Tensor('bool', Uint8Array.from(model.productIds, (id) => (inputs.active.get(id) ? 1 : 0)), [n]);
  const [itemsName, scoresName] = model.card.outputs.map((o) => o.name) as [string, string];
  const [historyName, activeName] = model.card.inputs.map((i) => i.name) as [string, string];

  const out: CustomerRecs[] = [];
  for (let start = 0; start < inputs.customerIds.length; start += TOP_K_SLICE_ROWS) {
    const end = Math.min(inputs.customerIds.length, start + TOP_K_SLICE_ROWS);
    const result = await model.session.run({
      [historyName]: new ort.Tensor('float32', history.subarray(start * n, end * n), [end - start, n]),
      [activeName]: active,
    });
    const items = result[itemsName]!.data as BigInt64Array;
    const scores = result[scoresName]!.data as Float32Array;
    const width = result[itemsName]!.dims[1] ?? k;
    for (let r = start; r < end; r++) {
      const customerId = inputs.customerIds[r]!;
      if (!hasHistory[r]) {
        out.push(popularFor(customerId, inputs.popular, bought.get(customerId), k));
        continue;
      }
      const picked: CustomerRecs['items'] = [];
      for (let j = 0; j < Math.min(width, k); j++) {
        const score = scores[(r - start) * width + j]!;
        if (!Number.isFinite(score)) continue;
        picked.push({ productId: model.productIds[Number(items[(r - start) * width + j]!)]!, score });
      }
      out.push({ customerId, source: 'model', items: picked,
        ...(picked.length < k ? { shortReason: `only ${picked.length} active products in the model's index that the customer has not bought` } : {}) });
    }
    onSlice(end);
  }
  return out;
}

/** The run's popularity list minus what the customer bought; the score is the product's purchases in the 4 weeks before the snapshot. */
function popularFor(customerId: string, popular: TopKInputs['popular'], bought: Set<string> | undefined, k: number): CustomerRecs {
  const items = popular.filter((p) => !bought?.has(p.productId)).slice(0, k).map((p) => ({ productId: p.productId, score: p.purchases }));
  return { customerId, source: 'popular', items,
    ...(items.length < k ? { shortReason: `only ${items.length} products in the popularity list that the customer has not bought` } : {}) };
}

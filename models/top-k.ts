import ort from 'onnxruntime-node';
import type { LoadedRecsModel } from './recs-model.js';

/** Customers per onnxruntime call: the dense history of one call is TOP_K_SLICE_ROWS × items × 4 bytes (20 MB at 10,000 items). */
export const TOP_K_SLICE_ROWS = 500;

/** One customer's recommendations, best first: from the model, or the popularity list for an empty history. */
export interface CustomerRecs {
  customerId: string;
  source: 'model' | 'popular';
  items: Array<{ productId: string; score: number }>;
  /** Set when fewer than k products are returned: why. */
  shortReason?: string;
}

/** What top-k scoring needs of a batch of customers (see activities/sql/recs-history.ts). */
export interface TopKInputs {
  customerIds: string[];
  purchases: Array<{ customerId: string; productId: string; weight: number }>;
  active: Map<string, boolean>;
  popular: Array<{ productId: string; purchases: number }>;
}

/** A zeroed Float32Array of TOP_K_SLICE_ROWS × the model's items, for `recommend` to reuse between batches (it leaves it zeroed). */
export function sliceBuffer(model: LoadedRecsModel): Float32Array {
  return new Float32Array(TOP_K_SLICE_ROWS * model.productIds.length);
}

/**
 * Builds the dense history [slice, n_items] one slice at a time in `scratch` (products missing from the
 * item index, launched after training, are dropped) and the active mask (a product missing from the
 * products table is inactive), runs the graph on each slice, and maps item positions to product ids,
 * dropping -Infinity slots. Customers with no purchase in the index get the popularity list minus anything they bought.
 */
export async function recommend(
  model: LoadedRecsModel,
  inputs: TopKInputs,
  onSlice: (done: number) => void = () => {},
  scratch: Float32Array = sliceBuffer(model),
): Promise<CustomerRecs[]> {
  const n = model.productIds.length;
  const k = model.card.k;
  const customers = inputs.customerIds.length;
  const position = positionsOf(model);
  const row = new Map(inputs.customerIds.map((id, i) => [id, i]));
  const bought = new Map<string, Set<string>>();
  const hasHistory = new Uint8Array(customers);
  // The purchases in the index, grouped by row (a counting sort), so each slice fills only its own rows.
  const rowOf = new Int32Array(inputs.purchases.length).fill(-1);
  const atOf = new Int32Array(inputs.purchases.length);
  const rowStart = new Int32Array(customers + 1);
  inputs.purchases.forEach((p, i) => {
    const r = row.get(p.customerId);
    if (r === undefined) return;
    let set = bought.get(p.customerId);
    if (!set) bought.set(p.customerId, (set = new Set()));
    set.add(p.productId);
    const at = position.get(p.productId);
    if (at === undefined || !(p.weight > 0)) return;
    rowOf[i] = r;
    atOf[i] = at;
    rowStart[r + 1]!++;
    hasHistory[r] = 1;
  });
  for (let r = 0; r < customers; r++) rowStart[r + 1]! += rowStart[r]!;
  const next = rowStart.slice(0, customers);
  const entryAt = new Int32Array(rowStart[customers]!);
  const entryWeight = new Float32Array(rowStart[customers]!);
  inputs.purchases.forEach((p, i) => {
    const r = rowOf[i]!;
    if (r < 0) return;
    const e = next[r]!++;
    entryAt[e] = atOf[i]!;
    entryWeight[e] = p.weight;
  });

  const active = new ort.Tensor('bool', Uint8Array.from(model.productIds, (id) => (inputs.active.get(id) ? 1 : 0)), [n]);
  const [itemsName, scoresName] = model.card.outputs.map((o) => o.name) as [string, string];
  const [historyName, activeName] = model.card.inputs.map((i) => i.name) as [string, string];

  const out: CustomerRecs[] = [];
  for (let start = 0; start < customers; start += TOP_K_SLICE_ROWS) {
    const end = Math.min(customers, start + TOP_K_SLICE_ROWS);
    const history = scratch.subarray(0, (end - start) * n);
    for (let r = start; r < end; r++) {
      const base = (r - start) * n;
      for (let e = rowStart[r]!; e < rowStart[r + 1]!; e++) {
        const at = base + entryAt[e]!;
        history[at] = history[at]! + entryWeight[e]!;
      }
    }
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await model.session.run({ [historyName]: new ort.Tensor('float32', history, [end - start, n]), [activeName]: active });
    } finally {
      // Back to all zeros for the next slice: only the cells written, not the whole buffer.
      for (let r = start; r < end; r++) {
        const base = (r - start) * n;
        for (let e = rowStart[r]!; e < rowStart[r + 1]!; e++) history[base + entryAt[e]!] = 0;
      }
    }
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

const positionCache = new WeakMap<LoadedRecsModel, Map<string, number>>();

/** Product id → item position, built once per loaded model. */
function positionsOf(model: LoadedRecsModel): Map<string, number> {
  let position = positionCache.get(model);
  if (!position) positionCache.set(model, (position = new Map(model.productIds.map((id, i) => [id, i]))));
  return position;
}

/** The run's popularity list minus what the customer bought; the score is the product's purchases in the 4 weeks before the snapshot. */
function popularFor(customerId: string, popular: TopKInputs['popular'], bought: Set<string> | undefined, k: number): CustomerRecs {
  const items = popular.filter((p) => !bought?.has(p.productId)).slice(0, k).map((p) => ({ productId: p.productId, score: p.purchases }));
  return { customerId, source: 'popular', items,
    ...(items.length < k ? { shortReason: `only ${items.length} products in the popularity list that the customer has not bought` } : {}) };
}

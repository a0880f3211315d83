import { threadPerModel } from './graph-thread.js';
import { startTopKThread, type TopKCall, type TopKThread } from './top-k-thread.js';
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

/** Two zeroed slice buffers (TOP_K_SLICE_ROWS × items float32, 20 MB at 10,000 items): `recommend` fills one while the graph runs on the other, and leaves them zeroed for the next batch. */
export interface SliceBuffers {
  free: ArrayBuffer[];
}

export function sliceBuffers(model: LoadedRecsModel): SliceBuffers {
  return { free: [0, 1].map(() => new ArrayBuffer(TOP_K_SLICE_ROWS * model.productIds.length * 4)) };
}

/**
 * Builds the dense history [slice, n_items] one slice at a time (products missing from the item index,
 * launched after training, are dropped) and the active mask (a product missing from the products table
 * is inactive), runs the graph on each slice in the model's own thread while it builds the next one, and
 * maps item positions to product ids, dropping -Infinity slots. Customers with no purchase in the index
 * get the popularity list minus anything they bought.
 */
export async function recommend(
  model: LoadedRecsModel,
  inputs: TopKInputs,
  onSlice: (done: number) => void = () => {},
  buffers: SliceBuffers = sliceBuffers(model),
): Promise<CustomerRecs[]> {
  const n = model.productIds.length;
  const k = model.card.k;
  const customers = inputs.customerIds.length;
  const position = positionsOf(model);
  const row = new Map(inputs.customerIds.map((id, i) => [id, i]));
  const hasHistory = new Uint8Array(customers);
  // The purchases in the index, grouped by row (a counting sort), so each slice fills only its own rows.
  const rowOf = new Int32Array(inputs.purchases.length).fill(-1);
  const atOf = new Int32Array(inputs.purchases.length);
  const rowStart = new Int32Array(customers + 1);
  for (let i = 0; i < inputs.purchases.length; i++) {
    const p = inputs.purchases[i]!;
    const r = row.get(p.customerId);
    const at = position.get(p.productId);
    if (r === undefined || at === undefined || !(p.weight > 0)) continue;
    rowOf[i] = r;
    atOf[i] = at;
    rowStart[r + 1]!++;
    hasHistory[r] = 1;
  }
  // What the customers given the popularity list bought (products outside the index included).
  const bought = new Map<string, Set<string>>();
  for (const p of inputs.purchases) {
    const r = row.get(p.customerId);
    if (r === undefined || hasHistory[r]) continue;
    let set = bought.get(p.customerId);
    if (!set) bought.set(p.customerId, (set = new Set()));
    set.add(p.productId);
  }
  for (let r = 0; r < customers; r++) rowStart[r + 1]! += rowStart[r]!;
  const next = rowStart.slice(0, customers);
  const entryAt = new Int32Array(rowStart[customers]!);
  const entryWeight = new Float32Array(rowStart[customers]!);
  for (let i = 0; i < inputs.purchases.length; i++) {
    const r = rowOf[i]!;
    if (r < 0) continue;
    const e = next[r]!++;
    entryAt[e] = atOf[i]!;
    entryWeight[e] = inputs.purchases[i]!.weight;
  }

  const active = Uint8Array.from(model.productIds, (id) => (inputs.active.get(id) ? 1 : 0));
  const thread = threadOf(model);
  const out: CustomerRecs[] = [];
  const forCells = (start: number, end: number, visit: (at: number, e: number) => void) => {
    for (let r = start; r < end; r++) {
      const base = (r - start) * n;
      for (let e = rowStart[r]!; e < rowStart[r + 1]!; e++) visit(base + entryAt[e]!, e);
    }
  };
  const finish = async (slice: { start: number; end: number; call: Promise<TopKCall> }) => {
    const { start, end } = slice;
    let result: TopKCall;
    try {
      result = await slice.call;
    } catch (err) {
      buffers.free.push(new ArrayBuffer(TOP_K_SLICE_ROWS * n * 4));
      throw err;
    }
    // Back to all zeros for the next slice: only the cells written, not the whole buffer.
    const history = new Float32Array(result.buffer);
    forCells(start, end, (at) => { history[at] = 0; });
    buffers.free.push(result.buffer);
    const { items, scores, width } = result;
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
  };

  const inFlight: Array<{ start: number; end: number; call: Promise<TopKCall> }> = [];
  for (let start = 0; start < customers; start += TOP_K_SLICE_ROWS) {
    if (!buffers.free.length) await finish(inFlight.shift()!);
    const end = Math.min(customers, start + TOP_K_SLICE_ROWS);
    const buffer = buffers.free.pop()!;
    const history = new Float32Array(buffer, 0, (end - start) * n);
    forCells(start, end, (at, e) => { history[at] = history[at]! + entryWeight[e]!; });
    const call = thread.run(buffer, end - start, active);
    call.catch(() => {});
    inFlight.push({ start, end, call });
  }
  while (inFlight.length) await finish(inFlight.shift()!);
  return out;
}

/** The model's scoring thread, started on first use (and again if it died). */
const threadOf = threadPerModel((model: LoadedRecsModel): TopKThread => {
  const [history, active] = model.card.inputs.map((i) => i.name) as [string, string];
  const [items, scores] = model.card.outputs.map((o) => o.name) as [string, string];
  return startTopKThread({ onnx: model.onnx, n: model.productIds.length, names: { history, active, items, scores } });
});

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

import type { LoadedRecsModel } from '../models/recs-model.js';
import { recommend, type SliceBuffers } from '../models/top-k.js';

/** What live scoring gives one customer: the model's ranking, or the popularity list when no purchase is in the model's index. */
export interface LiveRecs {
  source: 'live' | 'popular';
  items: Array<{ productId: string; score: number }>;
}

/**
 * The service's only entry into the batch's scoring code (models/top-k.ts `recommend`): one customer's
 * weighted purchases in, the same graph, the same active mask and bought-product exclusion, the same
 * popularity fallback. Kept to this file so changes to that code's internals touch the service here only.
 */
export async function scoreOneCustomer(
  model: LoadedRecsModel,
  p: { purchases: Array<{ productId: string; weight: number }>; active: Map<string, boolean>; popular: Array<{ productId: string; purchases: number }> },
): Promise<LiveRecs> {
  const customerId = 'live';
  const [recs] = await recommend(model, {
    customerIds: [customerId],
    purchases: p.purchases.map((x) => ({ customerId, productId: x.productId, weight: x.weight })),
    active: p.active,
    popular: p.popular,
  }, undefined, oneRowBuffers(model));
  return { source: recs!.source === 'model' ? 'live' : 'popular', items: recs!.items };
}

/** History buffers for one customer (n_items floats), not the batch's two 500-row slices (40 MB at 10,000 items) per request. */
function oneRowBuffers(model: LoadedRecsModel): SliceBuffers {
  return { free: [new ArrayBuffer(model.productIds.length * 4)] };
}

import { z } from 'zod';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');

/**
 * The card of a top-k model (models/product-recs/model-card.json): the ONNX file, the item index that gives
 * every input and output position its product, k, and how the caller builds the history input.
 */
export const recsCardSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  file: z.string().min(1),
  sha256,
  k: z.number().int().min(1).max(100),
  trained_at: z.string().optional(),
  item_index: z.object({ file: z.string().min(1), sha256, size: z.number().int().min(1) }),
  inputs: z.array(z.object({ name: z.string(), type: z.string() })).length(2),
  outputs: z.array(z.object({ name: z.string(), type: z.string() })).length(2),
  history: z.object({ half_life_days: z.number().positive() }),
});

export type RecsCard = z.infer<typeof recsCardSchema>;

/** item-index.json: `product_ids[i]` is the product at position i of the history, active and items tensors. */
export const itemIndexSchema = z.object({ product_ids: z.array(z.string().regex(/^\d+$/, 'must be integer product ids')).min(1) });

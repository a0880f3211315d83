import { z } from 'zod';

const integerInput = z.object({ name: z.string(), type: z.literal('integer'), min: z.number(), max: z.number() });
const categoryInput = z.object({ name: z.string(), type: z.literal('category'), categories: z.array(z.string()).min(1) });
const booleanInput = z.object({ name: z.string(), type: z.literal('boolean') });

/** The model card (model-card.json): what the model is, which file, and the contract of its inputs. */
export const modelCardSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
  description: z.string().optional(),
  trained_at: z.string().optional(),
  heldout_auc: z.number().optional(),
  inputs: z.array(z.discriminatedUnion('type', [integerInput, categoryInput, booleanInput])).min(1),
  categories_case: z.enum(['sensitive', 'insensitive']).default('sensitive'),
  output: z.object({ name: z.string(), index: z.number().int().min(0) }),
  buckets: z
    .array(z.object({ name: z.string().min(1), min_score: z.number().min(0).max(1) }))
    .min(1)
    .refine((b) => b.every((x, i) => i === 0 || b[i - 1]!.min_score > x.min_score), 'must be sorted by min_score, highest first')
    .refine((b) => b[b.length - 1]!.min_score === 0, 'the last bucket must start at 0 so every score has a bucket'),
});

export type ModelCard = z.infer<typeof modelCardSchema>;
export type CardInput = ModelCard['inputs'][number];

/** The bucket a score falls in: the first (highest) bucket whose min_score it reaches. */
export function bucketFor(card: Pick<ModelCard, 'buckets'>, score: number): string {
  return card.buckets[bucketIndex(card.buckets, score)]!.name;
}

/** bucketFor's position in the card's buckets (the last one for a score that reaches none, NaN included). */
export function bucketIndex(buckets: ModelCard['buckets'], score: number): number {
  let b = 0;
  while (b < buckets.length - 1 && !(score >= buckets[b]!.min_score)) b++;
  return b;
}

import type { Config } from '../lib/config.js';
import type { PipelineDefinitionInput } from './definition.js';

/** The product recommender's pipeline id: workflow ids `product-recs-<date>`, its schedule and its published run. */
export const PRODUCT_RECS = 'product-recs';

/** The shop's tables the recommender reads (created and filled by `scoreflow seed --pipeline product-recs`). */
export const SHOP_TABLES = { customers: 'shop.customers', products: 'shop.products', purchases: 'shop.purchases' } as const;

/**
 * Five products per customer, Monday 13:00 and Friday 08:00 in SCOREFLOW_RECS_TIMEZONE, from the model in
 * SCOREFLOW_RECS_MODEL_DIR. Every run scores every customer (see README, "The product recommender").
 */
export function productRecsDefinition(config: Config): PipelineDefinitionInput {
  return {
    id: PRODUCT_RECS,
    source: {
      table: SHOP_TABLES.customers,
      key: 'customer_id',
      change: 'updated_at',
      tables: { products: SHOP_TABLES.products, purchases: SHOP_TABLES.purchases },
    },
    modelDir: config.recs.modelDir,
    output: { kind: 'top-k', k: 5 },
    sinks: { current: 'recs.current_recommendations', history: 'recs.customer_recommendations' },
    schedule: {
      timezone: config.recs.timezone,
      calendars: [{ dayOfWeek: 1, hour: 13, minute: 0 }, { dayOfWeek: 5, hour: 8, minute: 0 }],
    },
    sizing: { chunkSize: config.recs.chunkSize, concurrency: 2, batchSize: config.recs.batchSize },
  };
}

import type { Config } from '../lib/config.js';
import type { PipelineDefinitionInput } from './definition.js';

/** The product recommender's pipeline id: workflow ids `product-recs-<date>`, its schedule and its published run. */
export const PRODUCT_RECS = 'product-recs';

/** The shop's tables the recommender reads (created and filled by `scoreflow seed --pipeline product-recs`). */
export const SHOP_TABLES = { customers: 'shop.customers', products: 'shop.products', purchases: 'shop.purchases' } as const;

/** The contact properties of the recommender's CRM sink: rank 1's product name in product_rec_1, and so on. */
export const RECS_CRM_PROPERTIES = {
  ranks: ['product_rec_1', 'product_rec_2', 'product_rec_3', 'product_rec_4', 'product_rec_5'],
  modelVersion: 'product_rec_model_version',
  generatedAt: 'product_rec_generated_at',
};

/**
 * Five products per customer, Monday 13:00 and Friday 08:00 in SCOREFLOW_RECS_TIMEZONE, from the model in
 * SCOREFLOW_RECS_MODEL_DIR. Every run scores every customer (see README, "The product recommender").
 * With SCOREFLOW_RECS_CRM=on the five product names also go on each customer's HubSpot contact, found by email.
 */
export function productRecsDefinition(config: Config): PipelineDefinitionInput {
  return {
    id: PRODUCT_RECS,
    source: {
      table: SHOP_TABLES.customers,
      key: 'customer_id',
      change: 'updated_at',
      ...(config.recs.crm ? { email: 'email' } : {}),
      tables: { products: SHOP_TABLES.products, purchases: SHOP_TABLES.purchases },
    },
    modelDir: config.recs.modelDir,
    output: { kind: 'top-k', k: 5 },
    sinks: { current: 'recs.current_recommendations', history: 'recs.customer_recommendations' },
    ...(config.recs.crm ? { crm: { properties: RECS_CRM_PROPERTIES } } : {}),
    schedule: {
      timezone: config.recs.timezone,
      calendars: [{ dayOfWeek: 1, hour: 13, minute: 0 }, { dayOfWeek: 5, hour: 8, minute: 0 }],
    },
    sizing: { chunkSize: config.recs.chunkSize, concurrency: 2, batchSize: config.recs.batchSize },
    // Every run scores every customer: its size may move only a little; most customers get model picks, not popularity.
    gates: { maxRowChange: 0.3, maxRejectRate: 0.05, maxPsi: 0.25, maxBucketShareChange: null, minCoverage: 0.05, maxTopItemShare: 0.3 },
  };
}

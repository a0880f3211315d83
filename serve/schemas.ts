/** A customer key of shop.customers (bigint): a whole number without leading zeros, at most 18 digits. */
export const CUSTOMER_ID_PATTERN = '^(0|[1-9][0-9]{0,17})$';

/** Most items an answer can carry (`k`), and how many it carries when `k` is not given. */
export const K = { min: 1, max: 20, default: 5 } as const;

const errorBody = (description: string) => ({
  description,
  type: 'object',
  required: ['statusCode', 'error', 'message'],
  additionalProperties: false,
  properties: { statusCode: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } },
}) as const;

/** JSON Schemas of `GET /v1/customers/{id}/recommendations`: Fastify validates with them and @fastify/swagger documents them. */
export const recommendationsSchema = {
  operationId: 'getRecommendations',
  tags: ['recommendations'],
  summary: "A customer's recommended products",
  description:
    'batch: the latest published run\'s rows (at most the 5 a run stores); live: a customer with purchases but no model row in that run, '
    + 'scored now with the run\'s model (at most the 5 the model ranks); popular: no purchases, the run\'s popularity list (up to k).',
  security: [{ bearerAuth: [] }],
  params: {
    type: 'object',
    required: ['id'],
    additionalProperties: false,
    properties: { id: { type: 'string', pattern: CUSTOMER_ID_PATTERN, description: 'customer_id of shop.customers' } },
  },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { k: { type: 'integer', minimum: K.min, maximum: K.max, default: K.default, description: 'how many products at most' } },
  },
  response: {
    200: {
      description: 'the recommendations, best first',
      type: 'object',
      required: ['customerId', 'items', 'source', 'runId', 'modelVersion', 'modelSha256', 'generatedAt'],
      additionalProperties: false,
      properties: {
        customerId: { type: 'string', pattern: CUSTOMER_ID_PATTERN },
        items: {
          type: 'array',
          maxItems: K.max,
          items: {
            type: 'object',
            required: ['rank', 'productId', 'name', 'score'],
            additionalProperties: false,
            properties: {
              rank: { type: 'integer', minimum: 1, maximum: K.max },
              productId: { type: 'string', pattern: '^[0-9]+$' },
              name: { type: 'string', nullable: true, description: 'null for a product no longer in the products table' },
              score: { type: 'number', description: 'model score (batch, live) or purchases in the 4 weeks before the run (popular)' },
            },
          },
        },
        source: { type: 'string', enum: ['batch', 'live', 'popular'] },
        runId: { type: 'string', description: 'the published run the answer belongs to' },
        modelVersion: { type: 'string' },
        modelSha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        generatedAt: { type: 'string', format: 'date-time' },
      },
    },
    400: errorBody('the id is not a customer key, k is out of range, or an unknown query parameter was given'),
    401: errorBody('no API key, or not one of the configured keys'),
    404: errorBody('no customer has this id'),
    429: errorBody('this API key\'s request budget is spent: retry after the Retry-After header\'s seconds'),
    503: errorBody('no published run loaded yet, or PostgreSQL unreachable for a customer not in the cache: retry after Retry-After seconds'),
  },
} as const;

/** /readyz: ready, or the reasons why not. */
export const readinessSchema = {
  tags: ['operations'],
  summary: 'Ready to answer: model loaded, PostgreSQL reachable, a published run known',
  response: {
    200: { description: 'ready', type: 'object', required: ['ready'], properties: { ready: { type: 'boolean' }, runId: { type: 'string' }, modelVersion: { type: 'string' } } },
    503: { description: 'not ready, and why', type: 'object', required: ['ready', 'reasons'], properties: { ready: { type: 'boolean' }, reasons: { type: 'array', items: { type: 'string' } } } },
  },
} as const;

/** /healthz: the process is up. */
export const healthSchema = {
  tags: ['operations'],
  summary: 'The process is up',
  response: { 200: { description: 'up', type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } } },
} as const;

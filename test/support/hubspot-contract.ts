import { OpenAPIBackend, type Document } from 'openapi-backend';
import { readSpec, SPEC_FILES } from '../../sandbox/spec.js';

/** Checks response bodies against HubSpot's published OpenAPI documents, operation by operation. */
export interface HubSpotContract {
  /** The spec's problems with `body` as the `status` answer of `operationId`; empty when it conforms. */
  problems(operationId: string, status: number, body: unknown): string[];
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * HubSpot declares its error responses as `*\/*`; openapi-backend only validates `application/json`,
 * so the error schema is exposed under that media type too (what HubSpot actually sends).
 */
function withJsonErrors(doc: Document): Document {
  const copy = structuredClone(doc) as Document & { components?: { responses?: Record<string, { content?: Record<string, unknown> }> } };
  for (const response of Object.values(copy.components?.responses ?? {})) {
    const any = response.content?.['*/*'];
    if (any && response.content && !response.content['application/json']) response.content['application/json'] = any;
  }
  return copy;
}

/** Loads both specs with strict response validation: no type coercion, date-time and uuid formats checked. */
export async function loadHubSpotContract(): Promise<HubSpotContract> {
  const apis = await Promise.all(SPEC_FILES.map(async (file) => {
    const api = new OpenAPIBackend({
      definition: withJsonErrors(readSpec(file)),
      quick: true,
      ajvOpts: { strict: false, coerceTypes: false, allErrors: true },
      customizeAjv: (ajv) => {
        ajv.addFormat('date-time', { type: 'string', validate: (s: string) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)) });
        ajv.addFormat('uuid', { type: 'string', validate: (s: string) => UUID.test(s) });
        return ajv;
      },
    });
    await api.init();
    return api;
  }));
  return {
    problems(operationId, status, body) {
      const api = apis.find((a) => a.router.getOperation(operationId));
      if (!api) return [`no operation ${operationId} in HubSpot's specs`];
      const validators = api.validator.getStatusBasedResponseValidatorForOperation(operationId) ?? {};
      if (!validators[status] && !validators[`${Math.floor(status / 100)}XX`] && !validators['default']) {
        return [`HubSpot's spec defines no ${status} response for ${operationId}`];
      }
      const result = api.validateResponse(body, operationId, status);
      return (result.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
    },
  };
}

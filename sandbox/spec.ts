import fs from 'node:fs';
import path from 'node:path';
import { OpenAPIBackend, type Document, type Operation, type Request } from 'openapi-backend';
import { PROJECT_ROOT } from '../lib/paths.js';

/** HubSpot's published OpenAPI documents, vendored from ../shared/hubspot so the sandbox is self-contained. */
export const SPEC_FILES = ['contacts-v3.json', 'properties-v3.json'].map((f) => path.join(PROJECT_ROOT, 'sandbox', 'spec', f));

/** One parsed HubSpot spec document. */
export function readSpec(file: string): Document {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Document;
}

/** A request matched to one operation of one of HubSpot's specs. */
export interface MatchedOperation {
  operationId: string;
  params: Record<string, string>;
  /** Checks path, query and body against the spec; a list of readable problems, empty when valid. */
  validate(): string[];
}

/** Routes requests by HubSpot's paths and validates them, one openapi-backend instance per spec file. */
export interface SpecRouter {
  match(req: Request): MatchedOperation | undefined;
}

/**
 * Loads both specs. Request bodies are validated with type coercion so numbers sent as property values
 * pass (HubSpot accepts them and stores strings), as HubSpot's own JSON binding does.
 */
export async function makeSpecRouter(): Promise<SpecRouter> {
  const apis = await Promise.all(SPEC_FILES.map(async (file) => {
    const api = new OpenAPIBackend({ definition: readSpec(file), quick: true, coerceTypes: true, ajvOpts: { coerceTypes: true, strict: false } });
    await api.init();
    return api;
  }));
  return {
    match(req) {
      for (const api of apis) {
        const operation: Operation | undefined = api.matchOperation(req);
        if (!operation?.operationId) continue;
        const parsed = api.router.parseRequest(req, operation);
        return {
          operationId: operation.operationId,
          params: Object.fromEntries(Object.entries(parsed.params ?? {}).map(([k, v]) => [k, safeDecode(String(v))])),
          validate: () => (api.validateRequest(req, operation).errors ?? []).map((e) => {
            const where = e.instancePath.replace(/^\/requestBody/, '').replace(/^\//, '') || 'body';
            return `${where}: ${e.message ?? e.keyword}`;
          }),
        };
      }
      return undefined;
    },
  };
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

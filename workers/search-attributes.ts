import { SearchAttributesMissing } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD */
const KEYWORD = 2;

interface OperatorService {
  listSearchAttributes(req: { namespace: string }): Promise<{ customAttributes?: Record<string, unknown> | null }>;
  addSearchAttributes(req: { namespace: string; searchAttributes: Record<string, number> }): Promise<unknown>;
}

/**
 * Makes sure the namespace has scoreflow's search attributes before a worker runs workflows that set them
 * (a workflow setting an unregistered one would stall): registers the missing ones, which the dev server and a
 * self-hosted cluster allow, or stops with SearchAttributesMissing and the command an operator runs.
 */
export async function ensureSearchAttributes(
  conn: { operatorService: unknown },
  namespace: string,
  log: Logger,
): Promise<void> {
  const operator = conn.operatorService as OperatorService;
  const { customAttributes } = await operator.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTES.map((k) => k.name).filter((name) => !(name in (customAttributes ?? {})));
  if (!missing.length) return;
  try {
    await operator.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((name) => [name, KEYWORD])) });
  } catch (err) {
    throw new SearchAttributesMissing(namespace, missing, (err as Error).message);
  }
  log.info({ namespace, searchAttributes: missing }, 'registered search attributes');
}

import type { Pool } from '../db/pool.js';
import type { Logger } from '../lib/logger.js';
import type { LeadsTable } from '../source/leads-table.js';
import { readCatalogue } from './sql/catalogue.js';

/** Product names for answers and the active flags live scoring masks with, refreshed in the background. */
export interface Catalogue {
  name(productId: string): string | null;
  /** Product id → active (what models/top-k.ts recommend takes); a product missing here is inactive. */
  active(): Map<string, boolean>;
  loaded(): boolean;
  refresh(): Promise<void>;
  close(): void;
}

/**
 * Holds the products table in memory and reloads it every `refreshMs` (and on demand, e.g. at a run switch).
 * A failed reload keeps the previous copy: names and flags a minute old beat no answer while PostgreSQL is away.
 */
export function makeCatalogue(p: { pool: Pool; products: LeadsTable; log: Logger; refreshMs: number }): Catalogue {
  let names = new Map<string, string>();
  let active = new Map<string, boolean>();
  let isLoaded = false;
  const refresh = async () => {
    try {
      const rows = await readCatalogue(p.pool, p.products);
      names = new Map(rows.map((r) => [r.productId, r.name]));
      active = new Map(rows.map((r) => [r.productId, r.active]));
      isLoaded = true;
    } catch (err) {
      p.log.warn({ err: (err as Error).message }, 'could not reload the product catalogue; keeping the previous copy');
    }
  };
  const timer = setInterval(() => void refresh(), p.refreshMs);
  timer.unref();
  return {
    name: (id) => names.get(id) ?? null,
    active: () => active,
    loaded: () => isLoaded,
    refresh,
    close: () => clearInterval(timer),
  };
}

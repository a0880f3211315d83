import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import { encodeCopyField, inWritesOf64KiB } from '../db/copy-text.js';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import { quoteColumn, parseLeadsTable } from './leads-table.js';
import { drawCustomers, makeCatalogue, shopParams, type ShopCustomer } from './synthetic-shop.js';

/** The shop's tables by name (schema.table), as a top-k definition names them. */
export interface ShopTableNames {
  customers: string;
  products: string;
  purchases: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A synthetic customer's email: deterministic, unique, and apart from the synthetic leads' (lead<N>@company<M>.example). */
export const customerEmail = (customerId: number): string => `customer${customerId}@shop.example`;

/** Creates the shop's tables if they are missing: customers keyed by customer_id (with an email), products, purchases. */
export async function createShopTables(db: Pool | PoolClient, names: ShopTableNames): Promise<void> {
  const [customers, products, purchases] = [names.customers, names.products, names.purchases].map((n) => parseLeadsTable(n));
  for (const schema of new Set([customers!.schema, products!.schema, purchases!.schema])) await db.query(`create schema if not exists ${quoteColumn(schema)}`);
  await db.query(`create table if not exists ${customers!.sql} (
  customer_id bigint primary key,
  email text,
  joined_at timestamptz not null,
  updated_at timestamptz not null
)`);
  // Tables created before customers had an email (the CRM sink finds each customer's contact by it).
  await db.query(`alter table ${customers!.sql} add column if not exists email text`);
  await db.query(`create table if not exists ${products!.sql} (
  product_id bigint primary key,
  name text not null,
  category text not null,
  price numeric(10, 2) not null,
  active boolean not null
)`);
  await db.query(`create table if not exists ${purchases!.sql} (
  customer_id bigint not null,
  product_id bigint not null,
  occurred_at timestamptz not null,
  quantity integer not null default 1
)`);
  await db.query(`create index if not exists ${quoteColumn(`${purchases!.table}_customer`)} on ${purchases!.sql} (customer_id, occurred_at)`);
}

/**
 * Replaces the shop's rows with the deterministic synthetic shop (source/synthetic-shop.ts) of `customers`
 * × `products`, streamed through COPY one customer at a time. A customer's updated_at is their latest
 * purchase (or joined_at): what makes them due again after they buy.
 */
export async function seedShop(
  pool: Pool,
  names: ShopTableNames,
  opts: { customers: number; products: number; seed?: number },
): Promise<{ customers: number; products: number; purchases: number }> {
  const params = shopParams({ customers: opts.customers, products: opts.products, ...(opts.seed ? { seed: opts.seed } : {}) });
  const cat = makeCatalogue(params);
  const [customers, products, purchases] = [names.customers, names.products, names.purchases].map((n) => parseLeadsTable(n).sql);
  return withTransaction(pool, async (client) => {
    await createShopTables(client, names);
    await client.query(`truncate ${customers}, ${products}, ${purchases}`);
    const productLines = cat.products.map((p) =>
      [p.productId, p.name, p.category, p.price.toFixed(2), p.active ? 't' : 'f'].map((v) => encodeCopyField(v)).join('\t') + '\n');
    await pipeline(Readable.from(inWritesOf64KiB(productLines)),
      client.query(copyStreams.from(`copy ${products} (product_id, name, category, price, active) from stdin`)));
    // Customers and purchases are two COPY streams: customers first, then their purchases drawn again (same streams, same draws).
    const customerLines = (function* () {
      for (const c of drawCustomers(cat)) yield `${c.customerId}\t${customerEmail(c.customerId)}\t${iso(c.joinedAtMs)}\t${iso(lastActivity(c))}\n`;
    })();
    await pipeline(Readable.from(inWritesOf64KiB(customerLines)),
      client.query(copyStreams.from(`copy ${customers} (customer_id, email, joined_at, updated_at) from stdin`)));
    let bought = 0;
    const purchaseLines = (function* () {
      for (const c of drawCustomers(cat)) {
        for (const p of c.purchases) {
          bought++;
          yield `${p.customerId}\t${p.productId}\t${iso(p.occurredAtMs)}\t${p.quantity}\n`;
        }
      }
    })();
    await pipeline(Readable.from(inWritesOf64KiB(purchaseLines)),
      client.query(copyStreams.from(`copy ${purchases} (customer_id, product_id, occurred_at, quantity) from stdin`)));
    await client.query(`analyze ${customers}; analyze ${products}; analyze ${purchases}`);
    return { customers: params.customers, products: cat.products.length, purchases: bought };
  });
}

function lastActivity(c: ShopCustomer): number {
  return c.purchases.length ? Math.max(c.joinedAtMs, c.purchases[c.purchases.length - 1]!.occurredAtMs) : c.joinedAtMs;
}

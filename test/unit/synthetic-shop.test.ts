import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeShopCsv } from '../../source/shop-csv.js';
import { drawCustomer, drawCustomers, makeCatalogue, shopParams, type ShopCustomer } from '../../source/synthetic-shop.js';

const DAY_MS = 86_400_000;
const params = shopParams({ customers: 3000, products: 400 });
const catalogue = makeCatalogue(params);
const customers: ShopCustomer[] = [...drawCustomers(catalogue)];
const purchases = customers.flatMap((c) => c.purchases);
const startMs = params.endMs - params.weeks * 7 * DAY_MS;
const cutMs = params.endMs - 4 * 7 * DAY_MS;

describe('the synthetic shop', () => {
  it('is the same shop for the same seed, and another shop for another seed', () => {
    expect(makeCatalogue(shopParams({ customers: 3000, products: 400 }))).toEqual(catalogue);
    expect([...drawCustomers(makeCatalogue(params), 1, 200)]).toEqual(customers.slice(0, 200));
    const other = makeCatalogue(shopParams({ customers: 3000, products: 400, seed: 7 }));
    expect(other.products.map((p) => p.category)).not.toEqual(catalogue.products.map((p) => p.category));
    expect(drawCustomer(other, 5)).not.toEqual(customers[4]);
  });

  it('draws any customer alone exactly as in the stream, so it can be written in blocks', () => {
    expect(drawCustomer(catalogue, 2718)).toEqual(customers[2717]);
    expect([...drawCustomers(catalogue, 1001, 3)]).toEqual(customers.slice(1000, 1003));
  });

  it('has discontinued products, sold only between their launch and their discontinuation', () => {
    const inactive = catalogue.products.filter((p) => !p.active);
    expect(inactive.length).toBeGreaterThan(0);
    expect(inactive.every((p) => p.discontinuedAtMs !== null && p.discontinuedAtMs < params.endMs)).toBe(true);
    const byId = new Map(catalogue.products.map((p) => [p.productId, p]));
    expect(purchases.filter((p) => !byId.get(p.productId)!.active).length).toBeGreaterThan(0);
    const offSale = purchases.filter((p) => {
      const product = byId.get(p.productId)!;
      return p.occurredAtMs < product.launchedAtMs || (product.discontinuedAtMs !== null && p.occurredAtMs >= product.discontinuedAtMs);
    });
    expect(offSale).toEqual([]);
  });

  it('has customers who never bought and customers who joined after a four-week cut-off', () => {
    expect(customers.filter((c) => c.purchases.length === 0).length).toBeGreaterThan(params.customers * 0.05);
    const late = customers.filter((c) => c.joinedAtMs >= cutMs);
    expect(late.length).toBeGreaterThan(0);
    expect(late.some((c) => c.purchases.length > 0)).toBe(true);
  });

  it('keeps every purchase inside the window, after the customer joined, in time order, on whole seconds', () => {
    const wrong = customers.flatMap((c) =>
      c.purchases.filter(
        (p, i) =>
          p.customerId !== c.customerId ||
          p.occurredAtMs < Math.max(startMs, c.joinedAtMs) ||
          p.occurredAtMs >= params.endMs ||
          p.occurredAtMs % 1000 !== 0 ||
          ![1, 2, 3].includes(p.quantity) ||
          (i > 0 && p.occurredAtMs < c.purchases[i - 1]!.occurredAtMs),
      ),
    );
    expect(purchases.length).toBeGreaterThan(params.customers * 5);
    expect(wrong).toEqual([]);
  });

  it('has a long tail: the top 5 % of products take a large share of the purchases', () => {
    const counts = new Map<number, number>();
    for (const p of purchases) counts.set(p.productId, (counts.get(p.productId) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    const top = sorted.slice(0, Math.ceil(params.products * 0.05)).reduce((s, c) => s + c, 0);
    expect(top / purchases.length).toBeGreaterThan(0.3);
  });

  it('gives customers category affinity: their purchases gather in fewer categories than the shop’s at large', () => {
    const category = new Map(catalogue.products.map((p) => [p.productId, p.category]));
    const topShare = (bought: number[]) => {
      const perCategory = new Map<string, number>();
      for (const id of bought) perCategory.set(category.get(id)!, (perCategory.get(category.get(id)!) ?? 0) + 1);
      return Math.max(...perCategory.values()) / bought.length;
    };
    const buyers = customers.filter((c) => c.purchases.length >= 6);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const own = mean(buyers.map((c) => topShare(c.purchases.map((p) => p.productId))));
    // The same number of purchases picked from the whole shop: popularity alone, no affinity.
    const anyone = mean(buyers.map((c, k) => topShare(c.purchases.map((_, j) => purchases[(k * 7919 + j * 104_729) % purchases.length]!.productId))));
    expect(own).toBeGreaterThan(anyone + 0.15);
  });

  it('has bundles: a customer who bought one product of a bundle often buys another within two weeks', () => {
    const bundleOf = new Map(catalogue.products.map((p) => [p.productId, p.bundle]));
    let bundled = 0;
    let followed = 0;
    for (const c of customers) {
      c.purchases.forEach((p, i) => {
        const b = bundleOf.get(p.productId);
        if (b === null || p.occurredAtMs >= params.endMs - 14 * DAY_MS) return;
        bundled++;
        if (c.purchases.slice(i + 1).some((q) => q.productId !== p.productId && bundleOf.get(q.productId) === b && q.occurredAtMs - p.occurredAtMs <= 14 * DAY_MS)) followed++;
      });
    }
    // Without bundles the chance of buying a given partner within two weeks is a few percent at most.
    expect(followed / bundled).toBeGreaterThan(0.2);
  });
});

describe('the shop as CSV', () => {
  it('writes the documented headers and one row per product, customer and purchase, identically twice', async () => {
    const dirs = [fs.mkdtempSync(path.join(os.tmpdir(), 'shop-a-')), fs.mkdtempSync(path.join(os.tmpdir(), 'shop-b-'))];
    const small = shopParams({ customers: 300, products: 60 });
    const [counts] = await Promise.all(dirs.map((dir) => writeShopCsv(small, dir)));
    const lines = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), 'utf8').trimEnd().split('\n');
    expect(lines(dirs[0]!, 'interactions.csv')[0]).toBe('customer_id,product_id,occurred_at,quantity');
    expect(lines(dirs[0]!, 'products.csv')[0]).toBe('product_id,name,category,price,active');
    expect(lines(dirs[0]!, 'customers.csv')[0]).toBe('customer_id,joined_at');
    expect(lines(dirs[0]!, 'interactions.csv')).toHaveLength(counts!.interactions + 1);
    expect(lines(dirs[0]!, 'products.csv')).toHaveLength(61);
    expect(lines(dirs[0]!, 'customers.csv')).toHaveLength(301);
    expect(lines(dirs[0]!, 'interactions.csv')[1]).toMatch(/^\d+,\d+,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ,[123]$/);
    expect(lines(dirs[0]!, 'products.csv').slice(1).some((l) => l.endsWith(',false'))).toBe(true);
    for (const file of ['interactions.csv', 'products.csv', 'customers.csv']) {
      expect(fs.readFileSync(path.join(dirs[1]!, file))).toEqual(fs.readFileSync(path.join(dirs[0]!, file)));
    }
    for (const dir of dirs) fs.rmSync(dir, { recursive: true });
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { drawCustomers, makeCatalogue, type ShopParams } from './synthetic-shop.js';

/** The CSV files the product-recs trainer reads (models/product-recs/README.md documents them). */
export const SHOP_FILES = { interactions: 'interactions.csv', products: 'products.csv', customers: 'customers.csv' } as const;

const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const csvField = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/** Writes `text` to the stream, waiting for it to drain when its buffer is full. */
async function write(out: fs.WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

async function close(out: fs.WriteStream): Promise<void> {
  out.end();
  await once(out, 'finish');
}

/**
 * Writes the synthetic shop as products.csv, customers.csv and interactions.csv in `dir`, customers
 * streamed in blocks so memory stays flat at any size. Returns the row counts.
 */
export async function writeShopCsv(params: ShopParams, dir: string): Promise<{ products: number; customers: number; interactions: number }> {
  fs.mkdirSync(dir, { recursive: true });
  const cat = makeCatalogue(params);
  const products = fs.createWriteStream(path.join(dir, SHOP_FILES.products));
  await write(products, 'product_id,name,category,price,active\n');
  for (const p of cat.products) {
    await write(products, `${p.productId},${csvField(p.name)},${csvField(p.category)},${p.price.toFixed(2)},${p.active}\n`);
  }
  await close(products);

  const customers = fs.createWriteStream(path.join(dir, SHOP_FILES.customers));
  const interactions = fs.createWriteStream(path.join(dir, SHOP_FILES.interactions));
  await write(customers, 'customer_id,joined_at\n');
  await write(interactions, 'customer_id,product_id,occurred_at,quantity\n');
  let rows = 0;
  let customerBlock = '';
  let purchaseBlock = '';
  for (const c of drawCustomers(cat)) {
    customerBlock += `${c.customerId},${iso(c.joinedAtMs)}\n`;
    for (const p of c.purchases) purchaseBlock += `${p.customerId},${p.productId},${iso(p.occurredAtMs)},${p.quantity}\n`;
    rows += c.purchases.length;
    if (purchaseBlock.length > 1 << 20 || customerBlock.length > 1 << 20) {
      await write(customers, customerBlock);
      await write(interactions, purchaseBlock);
      customerBlock = purchaseBlock = '';
    }
  }
  await write(customers, customerBlock);
  await write(interactions, purchaseBlock);
  await Promise.all([close(customers), close(interactions)]);
  return { products: cat.products.length, customers: params.customers, interactions: rows };
}

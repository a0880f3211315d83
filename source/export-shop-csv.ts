import { Command, InvalidArgumentError } from 'commander';
import { writeShopCsv } from './shop-csv.js';
import { SHOP_DEFAULTS, shopParams } from './synthetic-shop.js';

/** Writes the synthetic shop as CSV for models/product-recs/train.py: `node dist/source/export-shop-csv.js --customers N --products M --out DIR`. */
function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

const program = new Command('export-shop-csv')
  .description('write the deterministic synthetic shop (products, customers, purchases) as CSV')
  .requiredOption('--customers <n>', 'customers', positiveInt)
  .requiredOption('--products <n>', 'products', positiveInt)
  .requiredOption('--out <dir>', 'directory for products.csv, customers.csv and interactions.csv')
  .option('--seed <n>', 'seed', positiveInt, SHOP_DEFAULTS.seed)
  .option('--weeks <n>', 'weeks of purchase history', positiveInt, SHOP_DEFAULTS.weeks)
  .option('--orders-per-year <n>', 'mean orders per customer-year', positiveInt, SHOP_DEFAULTS.ordersPerYear)
  .action(async (o: { customers: number; products: number; out: string; seed: number; weeks: number; ordersPerYear: number }) => {
    const { customers, products, seed, weeks, ordersPerYear } = o;
    const counts = await writeShopCsv(shopParams({ customers, products, seed, weeks, ordersPerYear }), o.out);
    process.stdout.write(`wrote ${counts.products} products, ${counts.customers} customers, ${counts.interactions} purchases to ${o.out}\n`);
  });

program.parseAsync().catch((err: Error) => {
  process.stderr.write(`export-shop-csv: ${err.message}\n`);
  process.exit(1);
});

import { type Command, InvalidArgumentError } from 'commander';
import { PRODUCT_RECS, SHOP_TABLES } from '../pipelines/index.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { seedShop } from '../source/seed-shop.js';
import { SHOP_DEFAULTS } from '../source/synthetic-shop.js';
import type { Runtime, WithRuntime } from './runtime.js';

type Print = (json: boolean | undefined, value: unknown, text: () => string) => void;

/** One recommended product as `scoreflow recs show` prints it. */
export interface ShownRecommendation {
  rank: number;
  productId: string;
  name: string | null;
  category: string | null;
  score: number;
  source: 'model' | 'popular';
  runId: string;
  modelVersion: string;
  generatedAt: string;
}

/** The products tables of the recommender's definition, as names for SQL. */
function shopTables(rt: Runtime) {
  const def = rt.pipelines.get(PRODUCT_RECS);
  return { customers: def.source.table, products: def.source.tables?.products ?? SHOP_TABLES.products, purchases: def.source.tables?.purchases ?? SHOP_TABLES.purchases };
}

/** The shop `seed --pipeline product-recs` and the demo fill by default. */
export const RECS_DEMO_SHOP = { customers: 100_000, products: 5_000 } as const;

/** Fills the recommender's shop tables with the synthetic shop (`scoreflow seed --pipeline product-recs`). */
export async function seedRecsShop(rt: Runtime, o: { customers: number; products: number }) {
  const names = shopTables(rt);
  const res = await seedShop(rt.pool, names, { customers: o.customers, products: o.products, seed: SHOP_DEFAULTS.seed });
  return { tables: names, ...res };
}

/** A customer's recommendations as the email process reads them (recs.current_recommendations), with product names. */
export async function showRecommendations(rt: Runtime, customerId: string): Promise<ShownRecommendation[]> {
  const products = parseLeadsTable(shopTables(rt).products).sql;
  const { rows } = await rt.pool.query<{ rank: number; product_id: string; name: string | null; category: string | null; score: number; source: 'model' | 'popular'; run_id: string; model_version: string; generated_at: Date }>(
    `select c.rank, c.product_id::text as product_id, p.name, p.category, c.score, c.source, c.run_id, c.model_version, c.generated_at
     from recs.current_recommendations c left join ${products} p on p.product_id = c.product_id
     where c.customer_id = $1 order by c.rank`,
    [customerId],
  );
  return rows.map((r) => ({ rank: r.rank, productId: r.product_id, name: r.name, category: r.category, score: r.score, source: r.source, runId: r.run_id,
    modelVersion: r.model_version, generatedAt: r.generated_at.toISOString() }));
}

/** How many customers a published run scored by the model and by popularity, and the lowest customer id the model scored. */
export async function recsRunSummary(rt: Runtime, runId: string): Promise<{ model: number; popular: number; sampleCustomer: string | null }> {
  const { rows } = await rt.pool.query<{ model: number; popular: number; sample: string | null }>(
    `select count(*) filter (where source = 'model')::int as model, count(*) filter (where source = 'popular')::int as popular,
            (min(customer_id) filter (where source = 'model'))::text as sample
     from recs.customer_recommendations where run_id = $1 and rank = 1`,
    [runId],
  );
  return { model: rows[0]!.model, popular: rows[0]!.popular, sampleCustomer: rows[0]!.sample };
}

const customerId = (v: string) => {
  if (!/^\d{1,18}$/.test(v)) throw new InvalidArgumentError(`"${v}" is not a customer id (a whole number)`);
  return v;
};

export function registerRecsCommands(program: Command, withRuntime: WithRuntime, print: Print): void {
  const recs = program.command('recs').description('the product recommender\'s published recommendations');
  recs.command('show').description('a customer\'s recommended products as the email process reads them (recs.current_recommendations)')
    .requiredOption('--customer <id>', 'the customer id', customerId)
    .option('--json', 'JSON output')
    .action((o: { customer: string; json?: boolean }) =>
      withRuntime({ temporal: false, crm: 'off' }, async (rt) => {
        const shown = await showRecommendations(rt, o.customer);
        print(o.json, { customerId: o.customer, recommendations: shown }, () => shown.length === 0
          ? `customer ${o.customer} has no published recommendations (is the customer in ${shopTables(rt).customers}, and has product-recs run?)`
          : [`customer ${o.customer}: run ${shown[0]!.runId}, model ${shown[0]!.modelVersion}`,
            ...shown.map((r) => `  ${r.rank}. ${r.name ?? '(unknown product)'} (product ${r.productId}, ${r.source}, score ${r.score.toFixed(3)})`)].join('\n'));
      }),
    );
}

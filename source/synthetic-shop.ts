import prand from 'pure-rand';

/**
 * A deterministic synthetic shop: products, customers and their purchases from the generative process
 * documented in models/product-recs/README.md. Pure functions of the parameters; customers are drawn one
 * at a time (each from its own seeded stream), so a million of them never sit in memory together.
 */

/** Sizes and shape of the synthetic shop; `customers` and `products` are the sizes, the rest has defaults. */
export interface ShopParams {
  customers: number;
  products: number;
  seed: number;
  /** The end of the purchase history (exclusive), Unix milliseconds. */
  endMs: number;
  /** Weeks of purchase history before `endMs`. */
  weeks: number;
  categories: number;
  /** Zipf exponent of product popularity (1 = classic long tail). */
  zipf: number;
  /** Share of customers who registered and never bought. */
  neverBuyShare: number;
  /** Share of customers who joined during the history window (the rest joined before it). */
  joinedInWindowShare: number;
  /** Mean orders per customer-year (lognormal across customers). */
  ordersPerYear: number;
  /** Probability that an order's category comes from the customer's favourites rather than the shop at large. */
  affinity: number;
  /** Probability, at each order, that one favourite category is replaced by another (taste drifts). */
  drift: number;
  /** Probability that buying a bundled product is followed within two weeks by another product of its bundle. */
  bundleFollow: number;
  /** Share of products launched during the window, and share discontinued (inactive) during it. */
  launchedShare: number;
  discontinuedShare: number;
}

/** Defaults for everything but the sizes. The end is a fixed Monday so the data never depends on the clock. */
export const SHOP_DEFAULTS: Omit<ShopParams, 'customers' | 'products'> = {
  seed: 20261123,
  endMs: Date.UTC(2026, 10, 23),
  weeks: 52,
  categories: 24,
  zipf: 1.0,
  neverBuyShare: 0.08,
  joinedInWindowShare: 0.3,
  ordersPerYear: 10,
  affinity: 0.85,
  drift: 0.12,
  bundleFollow: 0.55,
  launchedShare: 0.1,
  discontinuedShare: 0.06,
};

export interface ShopProduct {
  productId: number;
  name: string;
  category: string;
  price: number;
  active: boolean;
  launchedAtMs: number;
  /** When the product stopped being sold; set exactly for the inactive ones. */
  discontinuedAtMs: number | null;
  /** Index of the bundle (products often bought together) it belongs to, or null. */
  bundle: number | null;
}

export interface ShopPurchase {
  customerId: number;
  productId: number;
  occurredAtMs: number;
  quantity: number;
}

export interface ShopCustomer {
  customerId: number;
  joinedAtMs: number;
  purchases: ShopPurchase[];
}

/** The products with what a customer's draws need: per-category cumulative popularity and the bundles. */
export interface Catalogue {
  params: ShopParams;
  products: ShopProduct[];
  categoryNames: string[];
  /** Per category: its product indices and their cumulative popularity. */
  byCategory: Array<{ items: number[]; cumulative: number[] }>;
  /** Cumulative popularity mass of the categories (the shop at large). */
  categoryCumulative: number[];
  bundles: number[][];
}

const DAY_MS = 86_400_000;

const CATEGORY_NAMES = [
  'Kitchen', 'Garden', 'Books', 'Toys', 'Outdoor', 'Audio', 'Cameras', 'Fitness', 'Beauty', 'Pets', 'Office',
  'Tools', 'Bedding', 'Lighting', 'Music', 'Games', 'Baby', 'Coffee', 'Bikes', 'Travel', 'Crafts', 'Shoes',
  'Watches', 'Tea',
];
const STYLES = ['Classic', 'Compact', 'Deluxe', 'Eco', 'Pro', 'Mini', 'Smart', 'Vintage', 'Urban', 'Nordic'];

/** Fills in the defaults and rejects sizes that cannot make a shop. */
export function shopParams(p: Partial<ShopParams> & Pick<ShopParams, 'customers' | 'products'>): ShopParams {
  const params = { ...SHOP_DEFAULTS, ...p };
  if (!Number.isInteger(params.customers) || params.customers < 0) throw new Error(`customers must be a whole number ≥ 0, got ${params.customers}`);
  if (!Number.isInteger(params.products) || params.products < params.categories) {
    throw new Error(`products must be a whole number ≥ the ${params.categories} categories, got ${params.products}`);
  }
  return params;
}

/** A well-mixed 32-bit seed for stream `stream` of `seed`, so neighbouring customers get unrelated draws. */
function mixSeed(seed: number, stream: number): number {
  let h = (seed ^ Math.imul(stream + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) | 0;
}

/** A deterministic stream of uniform [0, 1) draws for one stream of a seed. */
function uniformStream(seed: number, stream: number): () => number {
  const rng = prand.xoroshiro128plus(mixSeed(seed, stream));
  return () => (rng.unsafeNext() >>> 0) / 2 ** 32;
}

const wholeSecond = (ms: number) => Math.floor(ms / 1000) * 1000;

const gaussian = (u: () => number) => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());

/** Index of the first cumulative weight above `x`. */
function pick(cumulative: number[], x: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

const cumulate = (weights: number[]) => {
  let sum = 0;
  return weights.map((w) => (sum += w));
};

/** Draws the catalogue: categories, Zipf popularity on a shuffled rank, prices, launches, discontinuations, bundles. */
export function makeCatalogue(params: ShopParams): Catalogue {
  const u = uniformStream(params.seed, -1);
  const startMs = params.endMs - params.weeks * 7 * DAY_MS;
  const categoryNames = Array.from({ length: params.categories }, (_, c) =>
    c < CATEGORY_NAMES.length ? CATEGORY_NAMES[c]! : `Category ${c + 1}`,
  );
  const categoryCumulative = cumulate(categoryNames.map((_, c) => 1 / Math.sqrt(c + 1)));
  const categoryTotal = categoryCumulative[categoryCumulative.length - 1]!;
  const basePrice = categoryNames.map(() => Math.exp(2 + 2.5 * u()));

  const ranks = Array.from({ length: params.products }, (_, i) => i + 1);
  for (let i = ranks.length - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    [ranks[i], ranks[j]] = [ranks[j]!, ranks[i]!];
  }
  const popularity: number[] = [];
  const products: ShopProduct[] = ranks.map((rank, i) => {
    const category = i < params.categories ? i : pick(categoryCumulative, u() * categoryTotal);
    const launched = u() < params.launchedShare;
    const launchedAtMs = launched ? wholeSecond(startMs + u() * (params.endMs - startMs - 14 * DAY_MS)) : startMs - 365 * DAY_MS;
    const discontinued = u() < params.discontinuedShare;
    const onSaleFrom = Math.max(launchedAtMs, startMs);
    const discontinuedAtMs = discontinued ? wholeSecond(onSaleFrom + u() * (params.endMs - onSaleFrom)) : null;
    popularity.push(1 / rank ** params.zipf);
    return {
      productId: i + 1,
      name: `${STYLES[Math.floor(u() * STYLES.length)]} ${categoryNames[category]} ${i + 1}`,
      category: categoryNames[category]!,
      price: Math.max(0.5, Math.round(basePrice[category]! * Math.exp(0.4 * gaussian(u)) * 100) / 100),
      active: !discontinued,
      launchedAtMs,
      discontinuedAtMs,
      bundle: null,
    };
  });

  const byCategory = categoryNames.map(() => ({ items: [] as number[], cumulative: [] as number[] }));
  products.forEach((p, i) => byCategory[categoryNames.indexOf(p.category)]!.items.push(i));
  for (const c of byCategory) c.cumulative = cumulate(c.items.map((i) => popularity[i]!));
  // The shop at large: a category's mass is its products' popularity.
  const categoryMass = byCategory.map((c) => c.cumulative[c.cumulative.length - 1] ?? 0);

  const bundles: number[][] = [];
  for (const c of byCategory) {
    const shuffled = [...c.items];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(u() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    // About 40 % of a category's products sit in bundles of 2 to 4.
    let i = 0;
    while (i < shuffled.length * 0.4) {
      const size = 2 + Math.floor(u() * 3);
      const members = shuffled.slice(i, i + size);
      if (members.length < 2) break;
      for (const m of members) products[m]!.bundle = bundles.length;
      bundles.push(members);
      i += size;
    }
  }
  return { params, products, categoryNames, byCategory, categoryCumulative: cumulate(categoryMass), bundles };
}

const sellable = (p: ShopProduct, t: number) => t >= p.launchedAtMs && (p.discontinuedAtMs === null || t < p.discontinuedAtMs);

/** A product of `category` on sale at `t`, by popularity; null when the draws find none. */
function drawProduct(cat: Catalogue, category: number, t: number, u: () => number): number | null {
  const { items, cumulative } = cat.byCategory[category]!;
  const total = cumulative[cumulative.length - 1]!;
  for (let attempt = 0; attempt < 8; attempt++) {
    const index = items[pick(cumulative, u() * total)]!;
    if (sellable(cat.products[index]!, t)) return index;
  }
  return null;
}

/** Draws one customer and their purchases, in time order; customer ids start at 1. */
export function drawCustomer(cat: Catalogue, customerId: number): ShopCustomer {
  const p = cat.params;
  const u = uniformStream(p.seed, customerId);
  const startMs = p.endMs - p.weeks * 7 * DAY_MS;
  const joinedAtMs = u() < p.joinedInWindowShare
    ? wholeSecond(startMs + u() * (p.endMs - startMs))
    : wholeSecond(startMs - (1 + u() * 729) * DAY_MS);
  if (u() < p.neverBuyShare) return { customerId, joinedAtMs, purchases: [] };

  const nCategories = cat.categoryNames.length;
  const categoryTotal = cat.categoryCumulative[nCategories - 1]!;
  const shopCategory = () => pick(cat.categoryCumulative, u() * categoryTotal);
  const favourites = Array.from({ length: 1 + Math.floor(u() * 3) }, shopCategory);

  const from = Math.max(joinedAtMs, startMs);
  const years = (p.endMs - from) / (365 * DAY_MS);
  const rate = p.ordersPerYear * Math.exp(0.8 * gaussian(u) - 0.32);
  const orders = poisson(rate * years, u);
  const times = Array.from({ length: orders }, () => wholeSecond(from + u() * (p.endMs - from))).sort((a, b) => a - b);

  const purchases: ShopPurchase[] = [];
  const quantity = () => { const x = u(); return x < 0.8 ? 1 : x < 0.95 ? 2 : 3; };
  for (const t of times) {
    if (u() < p.drift) favourites[Math.floor(u() * favourites.length)] = shopCategory();
    const category = u() < p.affinity ? favourites[Math.floor(u() * favourites.length)]! : shopCategory();
    const index = drawProduct(cat, category, t, u);
    if (index === null) continue;
    const product = cat.products[index]!;
    purchases.push({ customerId, productId: product.productId, occurredAtMs: t, quantity: quantity() });
    if (product.bundle !== null && u() < p.bundleFollow) {
      const others = cat.bundles[product.bundle]!.filter((m) => m !== index);
      const partner = cat.products[others[Math.floor(u() * others.length)]!]!;
      const later = wholeSecond(t + u() * 14 * DAY_MS);
      if (later < p.endMs && sellable(partner, later)) {
        purchases.push({ customerId, productId: partner.productId, occurredAtMs: later, quantity: quantity() });
      }
    }
  }
  purchases.sort((a, b) => a.occurredAtMs - b.occurredAtMs);
  return { customerId, joinedAtMs, purchases };
}

function poisson(mean: number, u: () => number): number {
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(u)));
  const limit = Math.exp(-mean);
  let k = 0;
  let prod = u();
  while (prod > limit) {
    k++;
    prod *= u();
  }
  return k;
}

/** Customers `first` to `first + count - 1`, one at a time. */
export function* drawCustomers(cat: Catalogue, first = 1, count = cat.params.customers - first + 1): Generator<ShopCustomer> {
  for (let id = first; id < first + count; id++) yield drawCustomer(cat, id);
}

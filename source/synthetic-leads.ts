import fs from 'node:fs';
import path from 'node:path';
import prand from 'pure-rand';
import { resolveModelDir } from '../models/model-dir.js';

/** One feature of lead-distribution.json (shared with the Python trainer). */
export type FeatureDistribution =
  | { name: string; kind: 'lognormal'; mu: number; sigma: number; min: number; max: number }
  | { name: string; kind: 'exponential'; mean: number; min: number; max: number }
  | { name: string; kind: 'categorical'; weights: Record<string, number> }
  | { name: string; kind: 'bernoulli'; p: number };

export function readDistribution(modelDir: string): FeatureDistribution[] {
  const file = path.join(resolveModelDir(modelDir), 'lead-distribution.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { features: FeatureDistribution[] }).features;
}

export type LeadValue = number | string | boolean | null;

/** A deterministic stream of uniform [0, 1) draws from a seed. */
export function makeUniform(seed: number): () => number {
  const rng = prand.xoroshiro128plus(seed);
  return () => (rng.unsafeNext() >>> 0) / 2 ** 32;
}

const clamp = (v: number, min: number, max: number) => Math.min(max, Math.max(min, v));

/** Draws one feature value with the semantics documented in lead-distribution.json. */
export function drawFeature(f: FeatureDistribution, u: () => number): number | string | boolean {
  switch (f.kind) {
    case 'lognormal': {
      const z = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
      return clamp(Math.floor(Math.exp(f.mu + f.sigma * z) + 0.5), f.min, f.max);
    }
    case 'exponential':
      return clamp(Math.floor(-f.mean * Math.log(1 - u())), f.min, f.max);
    case 'categorical': {
      const entries = Object.entries(f.weights);
      const total = entries.reduce((s, [, w]) => s + w, 0);
      const x = u();
      let cumulative = 0;
      for (const [name, w] of entries) {
        cumulative += w / total;
        if (x < cumulative) return name;
      }
      return entries[entries.length - 1]![0];
    }
    case 'bernoulli':
      return u() < f.p;
  }
}

/** The kinds of messy value real CRMs hold, used to make a share of demo leads unscoreable on purpose. */
const MESSES: Array<(f: FeatureDistribution, u: () => number) => LeadValue> = [
  () => null,
  (f) => (f.kind === 'categorical' ? 'Unknown Vertical' : f.kind === 'bernoulli' ? null : -3),
  (f) => (f.kind === 'categorical' ? '' : f.kind === 'bernoulli' ? null : 10_000_000),
];

/**
 * Generates demo leads drawn from the training distribution, deterministic for a seed. A `messyRate`
 * share get one unusable feature (NULL, negative, absurd, unknown category) so the demo shows quarantine.
 */
export function* syntheticLeads(opts: {
  features: FeatureDistribution[];
  count: number;
  firstId: number;
  seed: number;
  messyRate: number;
}): Generator<{ leadId: number; email: string; values: LeadValue[] }> {
  const u = makeUniform(opts.seed ^ opts.firstId);
  for (let i = 0; i < opts.count; i++) {
    const leadId = opts.firstId + i;
    const values: LeadValue[] = opts.features.map((f) => drawFeature(f, u));
    if (u() < opts.messyRate) {
      const which = Math.floor(u() * values.length);
      values[which] = MESSES[Math.floor(u() * MESSES.length)]!(opts.features[which]!, u);
    }
    yield { leadId, email: `lead${leadId}@company${leadId % 9973}.example`, values };
  }
}

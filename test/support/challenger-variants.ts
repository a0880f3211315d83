import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { modelVariant } from './model-variant.js';

export const BUNDLED_RECS_MODEL = path.join(PROJECT_ROOT, 'models', 'product-recs');

/**
 * A lead-scoring challenger: the bundled graph as another file (so the same scores) whose card draws the
 * buckets lower (hot from 0.20, warm 0.10, cool 0.05), so that its buckets differ from the champion's
 * and a shadow row that leaked into a published table would show.
 */
export function leadChallenger(version = '2.0.0'): { dir: string; sha256: string; buckets: Array<{ name: string; min_score: number }> } {
  const v = modelVariant(version);
  const cardPath = path.join(v.dir, 'model-card.json');
  const buckets = [{ name: 'hot', min_score: 0.2 }, { name: 'warm', min_score: 0.1 }, { name: 'cool', min_score: 0.05 }, { name: 'cold', min_score: 0 }];
  fs.writeFileSync(cardPath, JSON.stringify({ ...JSON.parse(fs.readFileSync(cardPath, 'utf8')), buckets }, null, 2));
  return { ...v, buckets };
}

/** A product-recs challenger: the bundled graph with its doc string's version rewritten (another sha256, the same recommendations). */
export function recsChallenger(): { dir: string; sha256: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-recs-model-'));
  for (const f of fs.readdirSync(BUNDLED_RECS_MODEL)) fs.copyFileSync(path.join(BUNDLED_RECS_MODEL, f), path.join(dir, f));
  const cardPath = path.join(dir, 'model-card.json');
  const card = JSON.parse(fs.readFileSync(cardPath, 'utf8')) as { file: string; sha256: string; version: string };
  const onnx = fs.readFileSync(path.join(dir, card.file));
  const at = onnx.indexOf(Buffer.from('product-recs 1.0.0:'));
  if (at < 0) throw new Error('the bundled recommender has no "product-recs 1.0.0:" doc string to rewrite');
  Buffer.from('product-recs 1.0.1:').copy(onnx, at);
  fs.writeFileSync(path.join(dir, card.file), onnx);
  const sha256 = createHash('sha256').update(onnx).digest('hex');
  fs.writeFileSync(cardPath, JSON.stringify({ ...card, sha256, version: '1.0.1' }, null, 2));
  return { dir, sha256 };
}

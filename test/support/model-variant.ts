import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/paths.js';

export const BUNDLED_MODEL = path.join(PROJECT_ROOT, 'models', 'lead-scoring');

/**
 * A copy of the bundled model that is another model file (another sha256) with the same graph and
 * scores: the ONNX protobuf's producer_version string is rewritten in place with one of the same length,
 * and the card carries the new hash and `version`. What a retrained model looks like to scoreflow.
 */
export function modelVariant(version: string, producerVersion = '1.20.9'): { dir: string; sha256: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-model-'));
  for (const f of fs.readdirSync(BUNDLED_MODEL)) fs.copyFileSync(path.join(BUNDLED_MODEL, f), path.join(dir, f));
  const card = JSON.parse(fs.readFileSync(path.join(dir, 'model-card.json'), 'utf8')) as { file: string; sha256: string; version: string };
  const onnx = fs.readFileSync(path.join(dir, card.file));
  const original = Buffer.from('1.20.0', 'utf8');
  const at = onnx.indexOf(original);
  if (at < 0 || producerVersion.length !== original.length) throw new Error('the bundled ONNX file has no producer_version 1.20.0 to rewrite');
  Buffer.from(producerVersion, 'utf8').copy(onnx, at);
  fs.writeFileSync(path.join(dir, card.file), onnx);
  const sha256 = createHash('sha256').update(onnx).digest('hex');
  fs.writeFileSync(path.join(dir, 'model-card.json'), JSON.stringify({ ...card, sha256, version }, null, 2));
  return { dir, sha256 };
}

/** An empty directory for a worker's SCOREFLOW_MODEL_DIR. */
export function emptyModelDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-models-'));
}

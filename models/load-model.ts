import { createHash } from 'node:crypto';
import fs from 'node:fs';
import ort from 'onnxruntime-node';
import { ModelCardMismatch } from '../lib/errors.js';
import type { ModelCard } from './card.js';
import { readModelFiles } from './model-dir.js';

export { readCard } from './model-dir.js';

/** A model ready to score: its validated card, the file's hash, an onnxruntime session and the bytes (for a scoring thread's own session). */
export interface LoadedModel {
  card: ModelCard;
  sha256: string;
  session: ort.InferenceSession;
  onnx: Uint8Array;
  /** Threads that score its slices, each with a session of its own (see threadOf); 1 when absent. */
  threads?: number;
}

const ONNX_TYPE_OF: Record<ModelCard['inputs'][number]['type'], string> = {
  integer: 'float32',
  boolean: 'float32',
  category: 'string',
};

/** Lists every way the ONNX graph's inputs and outputs differ from the card (empty when they agree). */
export function compareCardWithGraph(card: ModelCard, session: ort.InferenceSession): string[] {
  const diffs: string[] = [];
  const graphInputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  for (const input of card.inputs) {
    const meta = graphInputs.get(input.name);
    if (!meta) {
      diffs.push(`card input "${input.name}" is not an input of the ONNX graph`);
      continue;
    }
    const expected = ONNX_TYPE_OF[input.type];
    if (meta.isTensor && meta.type !== expected) {
      diffs.push(`input "${input.name}" is ${meta.type} in the graph but the card's type ${input.type} needs ${expected}`);
    }
  }
  const cardNames = new Set(card.inputs.map((i) => i.name));
  for (const name of graphInputs.keys()) {
    if (!cardNames.has(name)) diffs.push(`graph input "${name}" is missing from the card`);
  }
  if (!session.outputNames.includes(card.output.name)) {
    diffs.push(`card output "${card.output.name}" is not an output of the graph (it has ${session.outputNames.join(', ')})`);
  }
  return diffs;
}

/** Hashes the model file; the hash is what every score records. */
export function sha256File(file: string): string {
  return sha256Of(fs.readFileSync(file));
}

/** The sha256 of a model's bytes, as hex: the model's identity in runs, scores and the model store. */
export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Loads the model in `modelDir` (through its `current` pointer when versioned) and checks it against its
 * card: file hash, input names and types, output. Any difference is a non-retryable ModelCardMismatch
 * raised before anything is scored or published.
 */
export async function loadModel(modelDir: string): Promise<LoadedModel> {
  const { card, onnx } = readModelFiles(modelDir);
  return loadModelBytes(card, onnx, card.file);
}

/**
 * Checks ONNX bytes against their card (hash, inputs, outputs) and opens an onnxruntime session on those
 * very bytes, so that nothing can change between the check and the load. `origin` names them in errors.
 */
export async function loadModelBytes(card: ModelCard, onnx: Uint8Array, origin: string): Promise<LoadedModel> {
  const sha256 = sha256Of(onnx);
  if (sha256 !== card.sha256) {
    throw new ModelCardMismatch(`${origin} has sha256 ${sha256} but the card says ${card.sha256}`);
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (err) {
    throw new ModelCardMismatch(`onnxruntime cannot load ${origin}: ${(err as Error).message}`);
  }
  const diffs = compareCardWithGraph(card, session);
  if (diffs.length) {
    await session.release();
    throw new ModelCardMismatch(diffs.join('; '));
  }
  return { card, sha256, session, onnx };
}

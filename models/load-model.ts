import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ModelCardMismatch, ModelNotFound } from '../lib/errors.js';
import { modelCardSchema, type ModelCard } from './card.js';

/** A model ready to score: its validated card, the file's hash and an onnxruntime session. */
export interface LoadedModel {
  card: ModelCard;
  sha256: string;
  session: ort.InferenceSession;
}

const ONNX_TYPE_OF: Record<ModelCard['inputs'][number]['type'], string> = {
  integer: 'float32',
  boolean: 'float32',
  category: 'string',
};

/** Reads and schema-checks model-card.json; a malformed card is a ModelCardMismatch naming the field. */
export function readCard(modelDir: string): ModelCard {
  const cardPath = path.join(modelDir, 'model-card.json');
  if (!fs.existsSync(cardPath)) {
    throw new ModelNotFound(
      `No model card at ${cardPath}: export the model with its model-card.json (see models/lead-scoring/train.py) or point SCOREFLOW_MODEL_DIR at a directory that has one`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(cardPath, 'utf8'));
  } catch (err) {
    throw new ModelCardMismatch(`model-card.json is not valid JSON (${(err as Error).message})`);
  }
  const parsed = modelCardSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ModelCardMismatch(`model-card.json field ${issue.path.join('.') || '(root)'} ${issue.message}`);
  }
  return parsed.data;
}

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
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * Loads the model in `modelDir` and checks it against its card: file hash, input names and types, output.
 * Any difference is a non-retryable ModelCardMismatch raised before anything is scored or published.
 */
export async function loadModel(modelDir: string): Promise<LoadedModel> {
  const card = readCard(modelDir);
  const file = path.join(modelDir, card.file);
  if (!fs.existsSync(file)) throw new ModelNotFound(`The model card names ${card.file} but ${file} does not exist`);
  const sha256 = sha256File(file);
  if (sha256 !== card.sha256) {
    throw new ModelCardMismatch(`${card.file} has sha256 ${sha256} but the card says ${card.sha256}`);
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (err) {
    throw new ModelCardMismatch(`onnxruntime cannot load ${card.file}: ${(err as Error).message}`);
  }
  const diffs = compareCardWithGraph(card, session);
  if (diffs.length) {
    await session.release();
    throw new ModelCardMismatch(diffs.join('; '));
  }
  return { card, sha256, session };
}

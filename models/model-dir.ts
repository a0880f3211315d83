import fs from 'node:fs';
import path from 'node:path';
import { ModelCardMismatch, ModelNotFound } from '../lib/errors.js';
import { modelCardSchema, type ModelCard } from './card.js';

/** The pointer of a versioned model directory: a symlink to `versions/<version>-<sha>/`, swapped by rename. */
export const CURRENT = 'current';
export const VERSIONS = 'versions';
/** The pointer to a pipeline's challenger model, beside `current`: scored into shadow tables only (models/challenger.ts). */
export const CHALLENGER = 'challenger';

/**
 * The directory whose card and ONNX file are the model: the target of `<modelDir>/current` when the
 * directory is versioned, else `modelDir` itself (the flat layout of models/lead-scoring/). The pointer is
 * resolved once, to a version directory that is never written again, so that a reader takes the card
 * and the file from the same version even when a deploy swaps the pointer between its two reads.
 */
export function resolveModelDir(modelDir: string): string {
  const pointer = path.join(modelDir, CURRENT);
  try {
    return fs.realpathSync(pointer);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !isLink(pointer)) return modelDir;
    throw new ModelNotFound(`${pointer} points to a directory that does not exist (${(err as Error).message}); deploy a model with \`scoreflow models deploy --from <dir>\``);
  }
}

function isLink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Reads and schema-checks model-card.json; a malformed card is a ModelCardMismatch naming the field. */
export function readCard(modelDir: string): ModelCard {
  return readCardIn(resolveModelDir(modelDir));
}

function readCardIn(dir: string): ModelCard {
  const cardPath = path.join(dir, 'model-card.json');
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
  return parseCard(raw, 'model-card.json');
}

/** Schema-checks a card from a file or the model store; `origin` names it in the error. */
export function parseCard(raw: unknown, origin: string): ModelCard {
  const parsed = modelCardSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ModelCardMismatch(`${origin} field ${issue.path.join('.') || '(root)'} ${issue.message}`);
  }
  return parsed.data;
}

/** A model's card and ONNX bytes, both read from `dir` (the resolved version directory). */
export interface ModelFiles {
  dir: string;
  card: ModelCard;
  onnx: Buffer;
}

/** Reads the card and the ONNX file it names from one resolution of the pointer. */
export function readModelFiles(modelDir: string): ModelFiles {
  return readModelFilesIn(resolveModelDir(modelDir));
}

/** Reads the card and the ONNX file in `dir` itself, not following a `current` pointer there. */
export function readModelFilesIn(dir: string): ModelFiles {
  const card = readCardIn(dir);
  const file = path.join(dir, card.file);
  if (!fs.existsSync(file)) throw new ModelNotFound(`The model card names ${card.file} but ${file} does not exist`);
  return { dir, card, onnx: fs.readFileSync(file) };
}

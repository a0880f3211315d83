import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ModelCardMismatch, ModelNotFound, ModelNotInStore } from '../lib/errors.js';
import { sha256Of } from './load-model.js';
import { resolveModelDir } from './model-dir.js';
import type { ModelStore } from './model-source.js';
import { itemIndexSchema, recsCardSchema, type RecsCard } from './recs-card.js';

/** A top-k model ready to score: its card, the ONNX hash, the item index as product ids and a session. */
export interface LoadedRecsModel {
  card: RecsCard;
  sha256: string;
  /** Product id (as text) at each item position. */
  productIds: string[];
  session: ort.InferenceSession;
  /** The ONNX bytes the session was made from (for the scoring thread, see models/top-k-thread.ts). */
  onnx: Uint8Array;
}

/** Where the top-k stages get their model: the one a run pins, and the one a run pinned (see ModelSource). */
export interface RecsModelSource {
  current(): Promise<LoadedRecsModel>;
  bySha(sha256: string): Promise<LoadedRecsModel>;
}

/**
 * What the model store keeps as a top-k model's card: the card itself plus the item index's text, so a
 * worker without the model directory gets both from scoring.model_store and checks both hashes.
 */
interface StoredRecsCard extends RecsCard {
  item_index_json: string;
}

/** The files of a top-k model directory (flat, or versioned with a `current` pointer). */
function readRecsFiles(modelDir: string): { card: RecsCard; onnx: Buffer; itemIndex: string } {
  return readRecsFilesIn(resolveModelDir(modelDir));
}

/** The files of a top-k model in `dir` itself, not following a `current` pointer there. */
export function readRecsFilesIn(dir: string): { card: RecsCard; onnx: Buffer; itemIndex: string } {
  const cardPath = path.join(dir, 'model-card.json');
  if (!fs.existsSync(cardPath)) throw new ModelNotFound(`No model card at ${cardPath}: point SCOREFLOW_RECS_MODEL_DIR at models/product-recs or a directory like it`);
  const card = parseRecsCard(JSON.parse(fs.readFileSync(cardPath, 'utf8')), cardPath);
  for (const f of [card.file, card.item_index.file]) {
    if (!fs.existsSync(path.join(dir, f))) throw new ModelNotFound(`The model card names ${f} but ${path.join(dir, f)} does not exist`);
  }
  return { card, onnx: fs.readFileSync(path.join(dir, card.file)), itemIndex: fs.readFileSync(path.join(dir, card.item_index.file), 'utf8') };
}

function parseRecsCard(raw: unknown, origin: string): RecsCard {
  const parsed = recsCardSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ModelCardMismatch(`${origin} field ${issue.path.join('.') || '(root)'} ${issue.message}`);
  }
  return parsed.data;
}

/** Checks the ONNX bytes and the item index against the card (both sha256, the index's size) and opens a session. */
export async function loadRecsModel(card: RecsCard, onnx: Uint8Array, itemIndex: string, origin: string): Promise<LoadedRecsModel> {
  const sha256 = sha256Of(onnx);
  if (sha256 !== card.sha256) throw new ModelCardMismatch(`${origin} has sha256 ${sha256} but the card says ${card.sha256}`);
  const indexSha = sha256Of(Buffer.from(itemIndex, 'utf8'));
  if (indexSha !== card.item_index.sha256) {
    throw new ModelCardMismatch(`the item index of ${origin} has sha256 ${indexSha} but the card says ${card.item_index.sha256}`);
  }
  const index = itemIndexSchema.safeParse(JSON.parse(itemIndex));
  if (!index.success || index.data.product_ids.length !== card.item_index.size) {
    throw new ModelCardMismatch(`the item index of ${origin} does not list the card's ${card.item_index.size} product ids`);
  }
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const missing = card.inputs.map((i) => i.name).filter((n) => !session.inputNames.includes(n))
    .concat(card.outputs.map((o) => o.name).filter((n) => !session.outputNames.includes(n)));
  if (missing.length) {
    await session.release();
    throw new ModelCardMismatch(`the ONNX graph of ${origin} has no ${missing.join(', ')} that the card names`);
  }
  return { card, sha256, productIds: index.data.product_ids, session, onnx };
}

/** The size of the item index the card in `modelDir` declares, without loading the model. */
export function readRecsCardSize(modelDir: string): number {
  return readRecsFiles(modelDir).card.item_index.size;
}

/** Loads and checks the top-k model in `modelDir` (both hashes), as commands do before they start anything. */
export async function loadRecsModelDir(modelDir: string): Promise<LoadedRecsModel> {
  const { card, onnx, itemIndex } = readRecsFiles(modelDir);
  return loadRecsModel(card, onnx, itemIndex, card.file);
}

/**
 * Top-k models of one model directory, cached by sha (at most two sessions), stored in the shared model
 * store by `current()` so any worker can load what a run pinned, as for lead scoring (makeModelSource).
 */
export function makeRecsModelSource(p: { modelDir: string; store: ModelStore }): RecsModelSource {
  const sessions = new Map<string, Promise<LoadedRecsModel>>();
  const cached = (sha256: string, load: () => Promise<LoadedRecsModel>) => {
    let model = sessions.get(sha256);
    if (!model) {
      model = load();
      model.catch(() => sessions.delete(sha256));
      sessions.set(sha256, model);
      for (const oldest of sessions.keys()) if (sessions.size > 2 && oldest !== sha256) sessions.delete(oldest);
    }
    return model;
  };
  return {
    async current() {
      const { card, onnx, itemIndex } = readRecsFiles(p.modelDir);
      const model = await cached(sha256Of(onnx), () => loadRecsModel(card, onnx, itemIndex, card.file));
      const stored: StoredRecsCard = { ...card, item_index_json: itemIndex };
      await p.store.register({ sha256: model.sha256, card: stored, onnx });
      return model;
    },
    bySha(sha256) {
      return cached(sha256, async () => {
        try {
          const local = readRecsFiles(p.modelDir);
          if (local.card.sha256 === sha256) return loadRecsModel(local.card, local.onnx, local.itemIndex, local.card.file);
        } catch { /* not in this directory: the store has it */ }
        const stored = await p.store.fetch(sha256);
        if (!stored) throw new ModelNotInStore(sha256, `is neither in this worker's model directory (${p.modelDir}) nor in scoring.model_store`);
        const origin = `${sha256} in scoring.model_store`;
        const raw = stored.card as Partial<StoredRecsCard>;
        if (typeof raw.item_index_json !== 'string') throw new ModelCardMismatch(`${origin} has no item index`);
        return loadRecsModel(parseRecsCard(raw, origin), stored.onnx, raw.item_index_json, origin);
      });
    },
  };
}

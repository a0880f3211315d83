import { ModelNotInStore } from '../lib/errors.js';
import type { ModelCard } from './card.js';
import { loadModelBytes, sha256Of, type LoadedModel } from './load-model.js';
import { parseCard, readModelFiles } from './model-dir.js';

/** A model as the shared store keeps it: its card as stored (checked again on load) and its ONNX bytes. */
export interface StoredModel {
  card: unknown;
  onnx: Uint8Array;
}

/** Any model card the store keeps (lead scoring's, a top-k model's): named and versioned, stored as JSON. */
export type StorableCard = Pick<ModelCard, 'name' | 'version'>;

/** The content-addressed store every worker shares (scoring.model_store), keyed by the ONNX file's sha256. */
export interface ModelStore {
  /** Adds the model unless the store holds it intact; refuses another card for the same file. */
  register(model: { sha256: string; card: StorableCard; onnx: Uint8Array }): Promise<void>;
  fetch(sha256: string): Promise<StoredModel | undefined>;
}

/** Where the stage activities get models: the one a new run pins, and the one a run has pinned. */
export interface ModelSource {
  /** The model in this worker's model directory, stored in the shared store first so that any worker can load what a run pins. */
  current(): Promise<LoadedModel>;
  /** The model with this ONNX sha256: from this process's cache, the model directory, or the shared store. */
  bySha(sha256: string): Promise<LoadedModel>;
}

/**
 * Models by sha for one worker process. Sessions are cached by sha, the most recently used first, and at
 * most `maxSessions` are kept (a worker's memory is bounded: usually one model, two during a deploy).
 * An evicted session is not released explicitly, since a chunk may still be scoring with it;
 * onnxruntime frees it when the last reference goes. Bytes from the store are hashed before use. Its models
 * score on `threads` threads (see threadOf).
 */
export function makeModelSource(p: { modelDir: string; store: ModelStore; maxSessions?: number; threads?: number }): ModelSource {
  const maxSessions = p.maxSessions ?? 2;
  const sessions = new Map<string, Promise<LoadedModel>>();

  const cached = (sha256: string, load: () => Promise<LoadedModel>): Promise<LoadedModel> => {
    let model = sessions.get(sha256);
    if (model) sessions.delete(sha256);
    else model = load().then((loaded) => (p.threads ? { ...loaded, threads: p.threads } : loaded));
    sessions.set(sha256, model);
    model.catch(() => {
      if (sessions.get(sha256) === model) sessions.delete(sha256);
    });
    for (const oldest of sessions.keys()) {
      if (sessions.size <= maxSessions) break;
      sessions.delete(oldest);
    }
    return model;
  };

  return {
    async current() {
      const { card, onnx } = readModelFiles(p.modelDir);
      const sha256 = sha256Of(onnx);
      let model = await cached(sha256, () => loadModelBytes(card, onnx, card.file));
      if (JSON.stringify(model.card) !== JSON.stringify(card)) {
        sessions.delete(sha256);
        model = await cached(sha256, () => loadModelBytes(card, onnx, card.file));
      }
      await p.store.register({ sha256, card, onnx });
      return model;
    },

    bySha(sha256) {
      return cached(sha256, async () => {
        const local = localModel(p.modelDir, sha256);
        if (local) return loadModelBytes(local.card, local.onnx, local.card.file);
        const stored = await p.store.fetch(sha256);
        if (!stored) {
          throw new ModelNotInStore(sha256, `is neither in this worker's model directory (${p.modelDir}) nor in scoring.model_store`);
        }
        const actual = sha256Of(stored.onnx);
        if (actual !== sha256) {
          throw new ModelNotInStore(sha256, `has bytes in scoring.model_store that hash to ${actual}: the stored copy is damaged`);
        }
        return loadModelBytes(parseCard(stored.card, `the card of ${sha256} in scoring.model_store`), stored.onnx, `${sha256} in scoring.model_store`);
      });
    },
  };
}

/** The model directory's files when they are the model asked for; anything else there is not our concern here. */
function localModel(modelDir: string, sha256: string): ReturnType<typeof readModelFiles> | undefined {
  try {
    const files = readModelFiles(modelDir);
    return files.card.sha256 === sha256 ? files : undefined;
  } catch {
    return undefined;
  }
}

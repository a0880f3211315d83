import path from 'node:path';
import { loadModel, readCard, sha256File, type LoadedModel } from './load-model.js';

/**
 * Keeps the last loaded model per worker process. Each call re-reads the card and re-hashes the file,
 * so a model dropped into the directory is picked up by the next run without restarting workers.
 */
export function makeModelCache(modelDir: string): { get(): Promise<LoadedModel> } {
  let cached: LoadedModel | undefined;
  return {
    async get() {
      if (cached) {
        const card = readCard(modelDir);
        const sha = sha256File(path.join(modelDir, card.file));
        if (sha === cached.sha256 && card.sha256 === cached.card.sha256 && card.version === cached.card.version) return cached;
      }
      const previous = cached;
      cached = await loadModel(modelDir);
      if (previous && previous !== cached) await previous.session.release().catch(() => {});
      return cached;
    },
  };
}

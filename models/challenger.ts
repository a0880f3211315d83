import fs from 'node:fs';
import path from 'node:path';
import { ModelNotFound } from '../lib/errors.js';
import { CHALLENGER, CURRENT } from './model-dir.js';
import { currentVersion, deployModel, pointedVersion, type ModelKind } from './model-deploy.js';

/**
 * A pipeline's challenger is a second pointer in its versioned model directory, `challenger`, beside
 * `current`. Each run scores its snapshot with it into shadow tables; `promote` renames it over `current`.
 */

/** Checks the model in `from` against its card, copies it into `versions/` and points `challenger` at it (atomic rename). */
export function setChallenger(modelDir: string, from: string, kind: ModelKind): ReturnType<typeof deployModel> {
  return deployModel(modelDir, from, kind, CHALLENGER);
}

/** The challenger's version directory (absolute), or undefined when the pipeline has none. */
export function challengerDir(modelDir: string): string | undefined {
  const pointer = path.join(modelDir, CHALLENGER);
  try {
    return fs.realpathSync(pointer);
  } catch {
    return undefined;
  }
}

/**
 * Makes the challenger the champion: one rename of the `challenger` symlink over `current`, the same atomic
 * switch a deploy makes, which also empties the challenger slot. Returns the versions before and after.
 */
export function promoteChallenger(modelDir: string): { promoted: string; previous?: string } {
  const promoted = pointedVersion(modelDir, CHALLENGER);
  if (!promoted) {
    throw new ModelNotFound(`${path.join(modelDir, CHALLENGER)} does not exist: this pipeline has no challenger to promote; set one with \`scoreflow models challenger --pipeline <id> --from <dir>\``);
  }
  const previous = currentVersion(modelDir);
  fs.renameSync(path.join(modelDir, CHALLENGER), path.join(modelDir, CURRENT));
  return { promoted, previous };
}

/** Removes the challenger pointer (its version directory stays); false when there was none. */
export function clearChallenger(modelDir: string): boolean {
  const pointer = path.join(modelDir, CHALLENGER);
  try {
    fs.unlinkSync(pointer);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

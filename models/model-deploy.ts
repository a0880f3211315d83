import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ModelCardMismatch } from '../lib/errors.js';
import { loadModelBytes, sha256Of } from './load-model.js';
import { CHALLENGER, CURRENT, readModelFiles, readModelFilesIn, resolveModelDir, VERSIONS } from './model-dir.js';
import { loadRecsModelDir, readRecsFilesIn } from './recs-model.js';

/** One model in a model directory, as `scoreflow models list` shows it. */
export interface ModelVersion {
  /** `versions/<name>`, or `.` for the flat layout's files. */
  dir: string;
  name?: string;
  version?: string;
  sha256?: string;
  current: boolean;
  /** The pipeline's challenger (`<model dir>/challenger`), scored in shadow beside the current one. */
  challenger?: boolean;
  /** Why the directory is not a usable model. */
  problem?: string;
}

/**
 * Deploys the model in `from` (its card and the ONNX file it names, checked against each other first)
 * into `modelDir`: copied into `versions/<version>-<sha>/`, written under a temporary name and renamed,
 * then made current by renaming a new symlink over `current`. Both renames are atomic, so a reader sees
 * the old model or the new one, never a mix. Deploying a version that is already there only swaps the
 * pointer: that is a rollback.
 */
export async function deployModel(
  modelDir: string,
  from: string,
  kind: ModelKind = 'probability-buckets',
  pointer: string = CURRENT,
): Promise<{ dir: string; version: string; sha256: string; previous?: string }> {
  const model = await checkModel(from, kind);
  const name = `${model.version.replace(/[^A-Za-z0-9._-]/g, '_')}-${model.sha256.slice(0, 12)}`;
  const target = path.join(modelDir, VERSIONS, name);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (fs.existsSync(target)) assertSameModel(target, model.sha256, kind);
  else copyVersion(model.dir, target, model.sha256, kind);
  const previous = pointer === CURRENT ? currentVersion(modelDir) : pointedVersion(modelDir, pointer);
  const link = path.join(modelDir, `.${pointer}-${randomBytes(6).toString('hex')}`);
  fs.symlinkSync(path.join(VERSIONS, name), link);
  try {
    fs.renameSync(link, path.join(modelDir, pointer));
  } catch (err) {
    fs.rmSync(link, { force: true });
    throw new ModelCardMismatch(`cannot make ${target} ${pointer}: ${(err as Error).message} (${path.join(modelDir, pointer)} must be a symlink or absent)`);
  }
  return { dir: target, version: model.version, sha256: model.sha256, previous };
}

/** A pipeline's output kind, which decides how its model directory's card is read (models/card.ts or models/recs-card.ts). */
export type ModelKind = 'probability-buckets' | 'top-k';

/** Checks the model in `from` fully (card, hashes, graph; for top-k also the item index) before anything is copied. */
async function checkModel(from: string, kind: ModelKind): Promise<{ dir: string; version: string; sha256: string }> {
  if (kind === 'top-k') {
    const model = await loadRecsModelDir(from);
    await model.session.release();
    return { dir: resolveModelDir(from), version: model.card.version, sha256: model.sha256 };
  }
  const files = readModelFiles(from);
  const model = await loadModelBytes(files.card, files.onnx, files.card.file);
  await model.session.release();
  return { dir: files.dir, version: files.card.version, sha256: model.sha256 };
}

/** The card's name and version and the sha256 of the ONNX file it names, in `dir` itself (a version directory or the flat files). */
function describeModel(dir: string, kind: ModelKind): { name: string; version: string; cardSha256: string; sha256: string } {
  if (kind === 'top-k') {
    const { card, onnx } = readRecsFilesIn(dir);
    return { name: card.name, version: card.version, cardSha256: card.sha256, sha256: sha256Of(onnx) };
  }
  const { card, onnx } = readModelFilesIn(dir);
  return { name: card.name, version: card.version, cardSha256: card.sha256, sha256: sha256Of(onnx) };
}

/** Copies every regular file of the source model directory (card, ONNX, its documentation) into a new version directory. */
function copyVersion(source: string, target: string, sha256: string, kind: ModelKind): void {
  const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
  fs.mkdirSync(tmp);
  try {
    for (const entry of fs.readdirSync(source, { withFileTypes: true })) {
      if (entry.isFile()) fs.copyFileSync(path.join(source, entry.name), path.join(tmp, entry.name));
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another deploy of the same model won the rename: its copy is as good as ours.
    if (!['EEXIST', 'ENOTEMPTY'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    assertSameModel(target, sha256, kind);
  }
}

function assertSameModel(dir: string, sha256: string, kind: ModelKind): void {
  const found = describeModel(dir, kind).sha256;
  if (found !== sha256) throw new ModelCardMismatch(`${dir} already exists with another model (sha256 ${found}); remove it or deploy under another version`);
}

/** The version directory `current` points to, relative to the model directory (undefined for the flat layout). */
export function currentVersion(modelDir: string): string | undefined {
  const resolved = resolveModelDir(modelDir);
  return resolved === modelDir ? undefined : path.relative(fs.realpathSync(modelDir), resolved);
}

/** The version directory a pointer other than `current` (e.g. `challenger`) names, relative to the model directory; undefined when unset. */
export function pointedVersion(modelDir: string, pointer: string): string | undefined {
  try {
    return path.relative(fs.realpathSync(modelDir), fs.realpathSync(path.join(modelDir, pointer)));
  } catch {
    return undefined;
  }
}

/** Every model in the directory: its version directories and, when present, the flat layout's files. */
export function listModelVersions(modelDir: string, kind: ModelKind = 'probability-buckets'): ModelVersion[] {
  const current = currentVersion(modelDir);
  const challenger = pointedVersion(modelDir, CHALLENGER);
  const dirs = fs.existsSync(path.join(modelDir, VERSIONS))
    ? fs.readdirSync(path.join(modelDir, VERSIONS), { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.includes('.tmp-'))
      .map((e) => path.join(VERSIONS, e.name))
      .sort()
    : [];
  if (fs.existsSync(path.join(modelDir, 'model-card.json'))) dirs.unshift('.');
  return dirs.map((dir) => {
    const isCurrent = dir === '.' ? current === undefined : dir === current;
    try {
      const { name, version, cardSha256, sha256 } = describeModel(path.join(modelDir, dir), kind);
      const problem = sha256 === cardSha256 ? undefined : `the file's sha256 ${sha256} differs from the card's`;
      return { dir, name, version, sha256, current: isCurrent, challenger: dir === challenger, problem };
    } catch (err) {
      return { dir, current: isCurrent, challenger: dir === challenger, problem: (err as Error).message };
    }
  });
}

import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { loadModel, sha256Of } from '../../models/load-model.js';
import { deployModel, listModelVersions } from '../../models/model-deploy.js';
import { readModelFiles, readModelFilesIn, resolveModelDir } from '../../models/model-dir.js';
import { loadRecsModelDir } from '../../models/recs-model.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { BUNDLED_MODEL, emptyModelDir, modelVariant } from '../support/model-variant.js';

const bundledSha = (JSON.parse(fs.readFileSync(path.join(BUNDLED_MODEL, 'model-card.json'), 'utf8')) as { sha256: string }).sha256;

describe('a versioned model directory', () => {
  it('deploy makes the new card and ONNX file current together, and lists every version with the current one', async () => {
    const root = emptyModelDir();
    const next = modelVariant('1.1.0');

    await deployModel(root, BUNDLED_MODEL);
    const first = readModelFiles(root);
    await deployModel(root, next.dir);
    const second = readModelFiles(root);

    expect([first.card.sha256, sha256Of(first.onnx)]).toEqual([bundledSha, bundledSha]);
    expect([second.card.sha256, sha256Of(second.onnx), second.card.version]).toEqual([next.sha256, next.sha256, '1.1.0']);
    expect((await loadModel(root)).sha256).toBe(next.sha256);
    expect(listModelVersions(root).map((v) => [v.version, v.sha256, v.current])).toEqual([
      ['1.0.0', bundledSha, false],
      ['1.1.0', next.sha256, true],
    ]);
  });

  it('a reader that resolved the pointer before a deploy reads the old card and the old ONNX file, never one of each', async () => {
    const root = emptyModelDir();
    const next = modelVariant('1.1.0');
    await deployModel(root, BUNDLED_MODEL);

    const resolvedBefore = resolveModelDir(root);
    await deployModel(root, next.dir);
    const read = readModelFilesIn(resolvedBefore);

    expect([read.card.sha256, sha256Of(read.onnx)]).toEqual([bundledSha, bundledSha]);
    expect(readModelFiles(root).card.sha256).toBe(next.sha256);
  });

  it('deploying a version that is already there only swaps the pointer back: a rollback', async () => {
    const root = emptyModelDir();
    const next = modelVariant('1.1.0');
    const first = await deployModel(root, BUNDLED_MODEL);
    await deployModel(root, next.dir);

    const back = await deployModel(root, first.dir);

    expect(back.dir).toBe(first.dir);
    expect(readModelFiles(root).card.sha256).toBe(bundledSha);
    expect(fs.readdirSync(path.join(root, 'versions'))).toHaveLength(2);
  });

  it('refuses a model whose card does not match its file and leaves the current model in place', async () => {
    const root = emptyModelDir();
    await deployModel(root, BUNDLED_MODEL);
    const broken = modelVariant('1.1.0');
    const card = JSON.parse(fs.readFileSync(path.join(broken.dir, 'model-card.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(broken.dir, 'model-card.json'), JSON.stringify({ ...card, sha256: bundledSha }));

    const err = await deployModel(root, broken.dir).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('ModelCardMismatch');
    expect(readModelFiles(root).card.sha256).toBe(bundledSha);
    expect(fs.readdirSync(path.join(root, 'versions'))).toHaveLength(1);
  });

  it('the bundled flat layout (card and ONNX file directly in the directory) still loads', async () => {
    expect(resolveModelDir(BUNDLED_MODEL)).toBe(BUNDLED_MODEL);
    expect((await loadModel(BUNDLED_MODEL)).sha256).toBe(bundledSha);
    expect(listModelVersions(BUNDLED_MODEL).map((v) => [v.dir, v.current])).toEqual([['.', true]]);
  });

  it('deploys and lists a top-k model (the recommender\'s card and item index) when told its output kind, and refuses it as a lead-scoring model', async () => {
    const root = emptyModelDir();
    const recs = path.join(PROJECT_ROOT, 'models', 'product-recs');
    const card = JSON.parse(fs.readFileSync(path.join(recs, 'model-card.json'), 'utf8')) as { sha256: string; version: string; item_index: { file: string } };

    const wrong = await deployModel(root, recs).catch((e: unknown) => e);
    expect((wrong as ApplicationFailure).type).toBe('ModelCardMismatch');

    const deployed = await deployModel(root, recs, 'top-k');

    expect(deployed).toMatchObject({ version: card.version, sha256: card.sha256 });
    expect(fs.existsSync(path.join(deployed.dir, card.item_index.file))).toBe(true);
    expect((await loadRecsModelDir(root)).sha256).toBe(card.sha256);
    expect(listModelVersions(root, 'top-k').map((v) => [v.version, v.sha256, v.current, v.problem])).toEqual([[card.version, card.sha256, true, undefined]]);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { ModelCard } from '../../models/card.js';
import { sha256Of } from '../../models/load-model.js';
import { makeModelSource, type ModelStore, type StoredModel } from '../../models/model-source.js';
import { BUNDLED_MODEL, emptyModelDir, modelVariant } from '../support/model-variant.js';

const bundledCard = JSON.parse(fs.readFileSync(path.join(BUNDLED_MODEL, 'model-card.json'), 'utf8')) as ModelCard;
const bundledOnnx = fs.readFileSync(path.join(BUNDLED_MODEL, bundledCard.file));

/** The shared store as a map, with what was registered. */
function memoryStore(rows: Record<string, StoredModel> = {}): ModelStore & { registered: string[] } {
  const registered: string[] = [];
  return {
    registered,
    async register(m) {
      registered.push(m.sha256);
      rows[m.sha256] ??= { card: m.card, onnx: m.onnx };
    },
    async fetch(sha256) {
      return rows[sha256];
    },
  };
}

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('loading a run’s pinned model by sha', () => {
  it('a worker whose directory holds another model loads the pinned one from the store, with its own card', async () => {
    const other = modelVariant('2.0.0');
    const source = makeModelSource({ modelDir: other.dir, store: memoryStore({ [bundledCard.sha256]: { card: bundledCard, onnx: bundledOnnx } }) });

    const pinned = await source.bySha(bundledCard.sha256);
    const current = await source.current();

    expect(pinned).toMatchObject({ sha256: bundledCard.sha256, card: { version: bundledCard.version } });
    expect(current).toMatchObject({ sha256: other.sha256, card: { version: '2.0.0' } });
  });

  it('refuses bytes in the store that do not hash to the pinned sha, with non-retryable ModelNotInStore', async () => {
    const damaged = Buffer.from(bundledOnnx);
    damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 0xff, damaged.length - 1);
    const source = makeModelSource({ modelDir: emptyModelDir(), store: memoryStore({ [bundledCard.sha256]: { card: bundledCard, onnx: damaged } }) });

    const err = await failure(source.bySha(bundledCard.sha256));

    expect(err.type).toBe('ModelNotInStore');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(`hash to ${sha256Of(damaged)}`);
  });

  it('refuses a stored model whose bytes are intact but whose card does not describe them', async () => {
    const other = modelVariant('2.0.0');
    const otherOnnx = fs.readFileSync(path.join(other.dir, bundledCard.file));
    const source = makeModelSource({ modelDir: emptyModelDir(), store: memoryStore({ [other.sha256]: { card: bundledCard, onnx: otherOnnx } }) });

    const err = await failure(source.bySha(other.sha256));

    expect(err.type).toBe('ModelCardMismatch');
    expect(err.message).toContain(`has sha256 ${other.sha256} but the card says ${bundledCard.sha256}`);
  });

  it('keeps checking the card against the graph for models from the store', async () => {
    const card = { ...bundledCard, inputs: bundledCard.inputs.map((i, n) => (n === 1 ? { ...i, name: 'vertical' } : i)) };
    const source = makeModelSource({ modelDir: emptyModelDir(), store: memoryStore({ [bundledCard.sha256]: { card, onnx: bundledOnnx } }) });

    const err = await failure(source.bySha(bundledCard.sha256));

    expect(err.type).toBe('ModelCardMismatch');
    expect(err.message).toContain('card input "vertical" is not an input of the ONNX graph');
  });

  it('a sha in neither the directory nor the store is ModelNotInStore saying to rerun the date', async () => {
    const source = makeModelSource({ modelDir: BUNDLED_MODEL, store: memoryStore() });

    const err = await failure(source.bySha('0'.repeat(64)));

    expect(err.type).toBe('ModelNotInStore');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('scoreflow rerun --as-of');
  });

  it('current() stores the directory’s model before a run can pin it, and loads each sha once', async () => {
    const store = memoryStore();
    const source = makeModelSource({ modelDir: BUNDLED_MODEL, store });

    const first = await source.current();
    const again = await source.bySha(bundledCard.sha256);

    expect(store.registered).toEqual([bundledCard.sha256]);
    expect(again).toBe(first);
  });
});

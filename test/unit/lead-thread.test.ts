import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeCopyField } from '../../db/copy-text.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { prepareFeatures, type RawLead } from '../../models/features.js';
import { startGraphThread } from '../../models/graph-thread.js';
import { loadModel, type LoadedModel } from '../../models/load-model.js';
import { predict, SLICE_ROWS } from '../../models/predict.js';
import { threadOf, warmScoringThreads } from '../../models/lead-thread.js';
import { scoreCopyLeads } from '../../models/score-copy.js';
import { binaryCopyOf } from '../support/binary-copy.js';

const modelDir = path.join(PROJECT_ROOT, 'models', 'lead-scoring');
const golden = JSON.parse(fs.readFileSync(path.join(modelDir, 'golden.json'), 'utf8')) as {
  rows: Array<{ inputs: Record<string, number | string | boolean> }>;
};

/** The golden inputs `copies` times over, with categories in mixed case, as RawLead. */
function leads(card: LoadedModel['card'], copies: number): RawLead[] {
  return Array.from({ length: copies }, () => golden.rows).flat().map((row, i) => ({
    leadId: String(i + 1),
    updatedAt: '2026-01-01T00:00:00.000000Z',
    present: true,
    fields: card.inputs.map((input) => {
      const v = row.inputs[input.name]!;
      if (typeof v === 'boolean') return v ? 't' : 'f';
      return encodeCopyField(typeof v === 'string' && i % 2 ? v.toUpperCase() : v);
    }),
  }));
}

describe('scoring in the model\'s own thread', () => {
  it('gives exactly the in-process session\'s scores on the same rows, across slices', async () => {
    const model = await loadModel(modelDir);
    const raw = leads(model.card, Math.ceil((SLICE_ROWS * 2 + 1) / golden.rows.length));
    const { batch } = prepareFeatures(model.card, raw);
    const inProcess = await predict(model, batch);
    const source = binaryCopyOf(raw);
    const ids: string[] = [];
    const threaded: number[] = [];
    const { scored, rejected } = await scoreCopyLeads(model, [source], (bytes, slice, scores) => {
      for (let r = 0; r < slice.rows; r++) ids.push(String(bytes.readBigInt64BE(slice.idStart[r]! + 4)));
      threaded.push(...scores);
    });
    expect(rejected).toEqual([]);
    expect(scored).toBe(raw.length);
    expect(ids).toEqual(batch.leadIds);
    expect(threaded).toEqual(Array.from(inProcess));
  });

  it('gives the same scores, in order, on two threads as the in-process session, once both threads are warm', async () => {
    const model = { ...(await loadModel(modelDir)), threads: 2 };
    await warmScoringThreads(model);
    const raw = leads(model.card, Math.ceil((SLICE_ROWS * 5 + 1) / golden.rows.length));
    const { batch } = prepareFeatures(model.card, raw);
    const inProcess = await predict(model, batch);
    const threaded: number[] = [];
    const { scored } = await scoreCopyLeads(model, [binaryCopyOf(raw)], (_, __, scores) => threaded.push(...scores));
    expect(scored).toBe(raw.length);
    expect(threaded).toEqual(Array.from(inProcess));
  });

  it('rejects a call onnxruntime refuses with its message, and runs the next one', async () => {
    const model = await loadModel(modelDir);
    const vocab = Object.fromEntries(model.card.inputs.flatMap((i) => (i.type === 'category' ? [[i.name, i.categories]] : [])));
    const thread = startGraphThread({ onnx: model.onnx, vocab });
    await expect(thread.run([{ name: 'no_such_input', type: 'float32', data: new Float32Array(1), dims: [1, 1] }], [model.card.output.name], []))
      .rejects.toThrow(/^onnxruntime: /);
    const call = await thread.run(
      model.card.inputs.map((i) => ({ name: i.name, type: i.type === 'category' ? 'codes' as const : 'float32' as const, data: i.type === 'category' ? new Uint8Array(1) : Float32Array.of(1), dims: [1, 1] })),
      [model.card.output.name],
      [],
    );
    expect(call.outputs[model.card.output.name]!.dims).toEqual([1, 2]);
    expect(thread.alive()).toBe(true);
  });

  it('replaces a thread that died with a new one at the next chunk', async () => {
    const model = await loadModel(modelDir);
    const raw = leads(model.card, 1);
    const source = binaryCopyOf(raw);
    const first = await scoreCopyLeads(model, [source], (_, __, scores) => Array.from(scores));
    const dead = threadOf(model);
    await dead.close();
    expect(dead.alive()).toBe(false);
    const second = await scoreCopyLeads(model, [source], (_, __, scores) => Array.from(scores));
    expect(threadOf(model)).not.toBe(dead);
    expect(second.results).toEqual(first.results);
  });
});

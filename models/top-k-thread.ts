import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** What one graph call returns: item positions and scores, [rows, width], and the history buffer handed back. */
export interface TopKCall {
  items: BigInt64Array;
  scores: Float32Array;
  width: number;
  /** The buffer the history was sent in, transferred back to the caller to be reused. */
  buffer: ArrayBuffer;
}

/** A thread of its own running one top-k graph, one call at a time, so the event loop stays free meanwhile. */
export interface TopKThread {
  /** False once the thread has died (an error in onnxruntime's native code): start another. */
  alive(): boolean;
  /** Runs the graph on the first rows × n floats of `buffer` (transferred: unusable until it comes back in the result). */
  run(buffer: ArrayBuffer, rows: number, active: Uint8Array): Promise<TopKCall>;
}

// Plain JavaScript evaluated in the thread, so the same code runs from the TypeScript sources (tests) and from dist/.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ort);
const { onnx, n, names } = workerData;
const session = ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1 });
parentPort.on('message', async ({ id, buffer, rows, active }) => {
  try {
    const s = await session;
    const out = await s.run({
      [names.history]: new ort.Tensor('float32', new Float32Array(buffer, 0, rows * n), [rows, n]),
      [names.active]: new ort.Tensor('bool', active, [n]),
    });
    const items = BigInt64Array.from(out[names.items].data);
    const scores = Float32Array.from(out[names.scores].data);
    parentPort.postMessage({ id, items, scores, width: out[names.items].dims[1], buffer }, [items.buffer, scores.buffer, buffer]);
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err), buffer }, [buffer]);
  }
});
`;

/**
 * Starts a thread holding its own onnxruntime session of `onnx` (intra-op threads 1, as the worker's
 * sessions): onnxruntime-node runs a graph on the calling thread's event loop, so a chunk's heartbeats,
 * database reads and staging would otherwise wait for every call. The thread does not keep the process alive.
 */
export function startTopKThread(p: { onnx: Uint8Array; n: number; names: { history: string; active: string; items: string; scores: string } }): TopKThread {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { onnx: p.onnx, n: p.n, names: p.names, ort: ortPath } });
  worker.unref();
  const pending = new Map<number, { resolve: (c: TopKCall) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  worker.on('message', (m: { id: number; error?: string } & TopKCall) => {
    const call = pending.get(m.id);
    if (!call) return;
    pending.delete(m.id);
    if (m.error) call.reject(new Error(`onnxruntime: ${m.error}`));
    else call.resolve({ items: m.items, scores: m.scores, width: m.width, buffer: m.buffer });
    if (pending.size === 0) worker.unref();
  });
  let died: Error | undefined;
  worker.on('error', (err) => {
    died = err;
  });
  worker.on('exit', (code) => {
    died ??= new Error(`the onnxruntime thread exited with code ${code}`);
    for (const call of pending.values()) call.reject(died);
    pending.clear();
  });
  return {
    alive: () => died === undefined,
    run(buffer, rows, active) {
      if (died) return Promise.reject(died);
      const id = nextId++;
      worker.ref();
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, buffer, rows, active }, [buffer]);
      });
    },
  };
}

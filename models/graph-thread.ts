import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** One input of a graph call: a numeric tensor, or a string tensor sent as codes into the thread's vocabulary for that input. */
export interface ThreadFeed {
  name: string;
  type: 'float32' | 'bool' | 'codes';
  data: Float32Array | Uint8Array | Uint16Array | Uint32Array;
  dims: number[];
}

/** One output of a graph call, copied out of onnxruntime's memory. */
export interface ThreadOutput {
  data: Float32Array | BigInt64Array;
  dims: readonly number[];
}

/** What a graph call returns: the outputs asked for, and the transferred buffers handed back to be reused. */
export interface GraphCall {
  outputs: Record<string, ThreadOutput>;
  buffers: ArrayBuffer[];
}

/** A thread of its own running one ONNX graph, one call at a time, so the event loop stays free meanwhile. */
export interface GraphThread {
  /** False once the thread has died (an error in onnxruntime's native code): start another. */
  alive(): boolean;
  /** Runs the graph; the `transfer` buffers (those the feeds view) are unusable until they come back in the result. */
  run(feeds: ThreadFeed[], outputs: string[], transfer: ArrayBuffer[]): Promise<GraphCall>;
  /** Stops the thread; calls in flight reject, and alive() turns false. */
  close(): Promise<void>;
}

// Plain JavaScript evaluated in the thread, so the same code runs from the TypeScript sources (tests) and from dist/.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ort);
const { onnx, vocab } = workerData;
const session = ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1 });
session.catch(() => {});
const strings = (name, codes) => {
  const words = vocab[name];
  if (!words) throw new Error('no vocabulary for string input ' + name);
  const out = new Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = words[codes[i]];
  return out;
};
parentPort.on('message', async ({ id, feeds, outputs, transfer }) => {
  try {
    const s = await session;
    const inputs = {};
    for (const f of feeds) {
      inputs[f.name] = f.type === 'codes' ? new ort.Tensor('string', strings(f.name, f.data), f.dims) : new ort.Tensor(f.type, f.data, f.dims);
    }
    const out = await s.run(inputs, outputs);
    const result = {};
    const moved = [...transfer];
    for (const name of outputs) {
      const data = out[name].data.slice();
      result[name] = { data, dims: out[name].dims };
      moved.push(data.buffer);
    }
    parentPort.postMessage({ id, outputs: result, buffers: transfer }, moved);
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err), buffers: transfer }, transfer);
  }
});
`;

/**
 * Starts a thread holding its own onnxruntime session of `onnx` (intra- and inter-op threads 1, as the
 * worker's sessions): onnxruntime-node runs a graph on the calling thread's event loop, so a chunk's
 * heartbeats, parsing and database I/O would otherwise wait for every call. String inputs travel as codes
 * into `vocab` (sent once, here), so no array of strings is cloned per call. The thread does not keep the
 * process alive; an onnxruntime error rejects the call with "onnxruntime: …".
 */
export function startGraphThread(p: { onnx: Uint8Array; vocab?: Record<string, string[]> }): GraphThread {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { onnx: p.onnx, vocab: p.vocab ?? {}, ort: ortPath } });
  worker.unref();
  const pending = new Map<number, { resolve: (c: GraphCall) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  worker.on('message', (m: { id: number; error?: string } & GraphCall) => {
    const call = pending.get(m.id);
    if (!call) return;
    pending.delete(m.id);
    if (m.error) call.reject(new Error(`onnxruntime: ${m.error}`));
    else call.resolve({ outputs: m.outputs, buffers: m.buffers });
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
    run(feeds, outputs, transfer) {
      if (died) return Promise.reject(died);
      const id = nextId++;
      worker.ref();
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, feeds, outputs, transfer }, transfer);
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}

/**
 * Several threads as one: each call goes to the thread with the fewest calls in flight, so slices of a
 * model are scored on as many cores as there are threads. Alive while every thread is.
 */
export function graphThreadPool(threads: GraphThread[]): GraphThread {
  if (threads.length === 1) return threads[0]!;
  const inFlight = threads.map(() => 0);
  return {
    alive: () => threads.every((t) => t.alive()),
    async run(feeds, outputs, transfer) {
      const i = inFlight.indexOf(Math.min(...inFlight));
      inFlight[i]!++;
      try {
        return await threads[i]!.run(feeds, outputs, transfer);
      } finally {
        inFlight[i]!--;
      }
    },
    async close() {
      await Promise.all(threads.map((t) => t.close()));
    },
  };
}

/**
 * One thread per loaded model, started by `start` on first use and again if it died. A model evicted from
 * the worker's cache (models/model-source.ts) takes its thread with it once collected.
 */
export function threadPerModel<M extends object, T extends { alive(): boolean; close(): Promise<void> }>(start: (model: M) => T): (model: M) => T {
  const threads = new WeakMap<M, T>();
  const collected = new FinalizationRegistry<T>((thread) => void thread.close());
  return (model) => {
    let thread = threads.get(model);
    if (!thread || !thread.alive()) {
      // A pool with one dead thread is replaced whole: its live threads are stopped, not left holding a session.
      void thread?.close().catch(() => {});
      thread = start(model);
      threads.set(model, thread);
      collected.register(model, thread);
    }
    return thread;
  };
}

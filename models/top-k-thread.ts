import { startGraphThread } from './graph-thread.js';

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
  /** Stops the thread. */
  close(): Promise<void>;
}

/** Starts a graph thread (models/graph-thread.ts) for a top-k model of `n` items. */
export function startTopKThread(p: { onnx: Uint8Array; n: number; names: { history: string; active: string; items: string; scores: string } }): TopKThread {
  const { n, names } = p;
  const thread = startGraphThread({ onnx: p.onnx });
  return {
    alive: () => thread.alive(),
    close: () => thread.close(),
    async run(buffer, rows, active) {
      const { outputs, buffers } = await thread.run(
        [
          { name: names.history, type: 'float32', data: new Float32Array(buffer, 0, rows * n), dims: [rows, n] },
          { name: names.active, type: 'bool', data: active, dims: [n] },
        ],
        [names.items, names.scores],
        [buffer],
      );
      const items = outputs[names.items]!;
      return { items: items.data as BigInt64Array, scores: outputs[names.scores]!.data as Float32Array, width: items.dims[1]!, buffer: buffers[0]! };
    },
  };
}

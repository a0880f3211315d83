import { describe, expect, it } from 'vitest';
import { graphThreadPool, threadPerModel, type GraphCall, type GraphThread } from '../../models/graph-thread.js';

/** A thread whose calls wait until the test answers them, one by one. */
function heldThread() {
  const calls: Array<(c: GraphCall) => void> = [];
  let closed = false;
  const thread: GraphThread = {
    alive: () => !closed,
    run: () => new Promise((resolve) => calls.push(resolve)),
    close: async () => {
      closed = true;
    },
  };
  return { thread, calls, answer: () => calls.shift()!({ outputs: {}, buffers: [] }) };
}

describe('a pool of graph threads', () => {
  it('sends each call to the thread with the fewest calls in flight', async () => {
    const a = heldThread();
    const b = heldThread();
    const pool = graphThreadPool([a.thread, b.thread]);
    const first = pool.run([], [], []);
    const second = pool.run([], [], []);
    expect([a.calls.length, b.calls.length]).toEqual([1, 1]);
    b.answer();
    await second;
    void pool.run([], [], []);
    expect([a.calls.length, b.calls.length]).toEqual([1, 1]);
    void pool.run([], [], []);
    expect([a.calls.length, b.calls.length]).toEqual([2, 1]);
    a.answer();
    await first;
  });

  it('stops a pool\'s live threads when one has died and the model is given a new pool', async () => {
    const started: Array<ReturnType<typeof heldThread>> = [];
    const poolOf = threadPerModel<object, GraphThread>(() => {
      const threads = [heldThread(), heldThread()];
      started.push(...threads);
      return graphThreadPool(threads.map((t) => t.thread));
    });
    const model = {};
    const first = poolOf(model);
    await started[0]!.thread.close();
    const second = poolOf(model);
    expect(second).not.toBe(first);
    expect(started.map((t) => t.thread.alive())).toEqual([false, false, true, true]);
  });

  it('is one thread when given one, and is alive only while every thread is', async () => {
    const a = heldThread();
    const b = heldThread();
    expect(graphThreadPool([a.thread])).toBe(a.thread);
    const pool = graphThreadPool([a.thread, b.thread]);
    expect(pool.alive()).toBe(true);
    await b.thread.close();
    expect(pool.alive()).toBe(false);
  });
});

import { performance } from 'node:perf_hooks';

/** Rows handled and the wall-clock time they took. */
export interface Measured {
  rows: number;
  ms: number;
}

export async function timed(fn: () => Promise<number>): Promise<Measured> {
  const start = performance.now();
  const rows = await fn();
  return { rows, ms: performance.now() - start };
}

export const perSecond = (m: Measured) => (m.ms > 0 ? (m.rows * 1000) / m.ms : 0);

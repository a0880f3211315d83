/** What boundedMap needs of a Temporal CancellationScope: run work in it, and cancel that work. */
export interface Cancellable {
  run<R>(fn: () => Promise<R>): Promise<R>;
  cancel(): void;
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight, in item order. Deterministic: lanes pull
 * the next index in turn, so replay schedules activities in the same order.
 *
 * With a `scope`, the first failure stops the map: no further item starts, the items in flight (run in
 * `scope`) are cancelled, and once every one of them has settled the first failure is thrown. Without
 * one, the first failure is thrown at once while the other lanes go on: how runs recorded before that
 * behaved, kept for their replay.
 */
export async function boundedMap<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>, scope?: Cancellable): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const item = items[next++]!;
      if (!scope) {
        await fn(item);
        continue;
      }
      try {
        await scope.run(() => fn(item));
      } catch (err) {
        if (!failure) {
          failure = { err };
          scope.cancel();
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw failure.err;
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight, in item order. Deterministic: lanes pull
 * the next index in turn, so replay schedules activities in the same order.
 */
export async function boundedMap<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

/** HubSpot's per-app budgets: a ten-second rolling window and a daily quota (reset at midnight UTC here). */
export interface RateLimitConfig {
  perTenSeconds: number;
  perDay: number;
}

/** HubSpot Professional's limits for a private app. */
export const DEFAULT_RATE_LIMIT: RateLimitConfig = { perTenSeconds: 190, perDay: 650_000 };

const WINDOW_MS = 10_000;

/** The outcome of spending one request of a token's budget, with the headers HubSpot sends either way. */
export interface RateDecision {
  limitedBy?: 'TEN_SECONDLY_ROLLING' | 'DAILY';
  retryAfterSeconds?: number;
  headers: Record<string, string>;
}

/** Budgets per token, in memory; a refused request spends nothing. */
export interface RateLimiter {
  take(token: string): RateDecision;
  reset(): void;
}

interface Budget {
  recent: number[];
  day: string;
  usedToday: number;
}

/** Makes the rolling-window + daily limiter; `now` is injectable for unit tests. */
export function makeRateLimiter(config: RateLimitConfig, now: () => number = Date.now): RateLimiter {
  const budgets = new Map<string, Budget>();
  return {
    take(token) {
      const t = now();
      const day = new Date(t).toISOString().slice(0, 10);
      let b = budgets.get(token);
      if (!b) budgets.set(token, (b = { recent: [], day, usedToday: 0 }));
      if (b.day !== day) Object.assign(b, { day, usedToday: 0 });
      while (b.recent.length && b.recent[0]! <= t - WINDOW_MS) b.recent.shift();
      let limitedBy: RateDecision['limitedBy'];
      let retryAfterSeconds: number | undefined;
      if (b.usedToday >= config.perDay) {
        limitedBy = 'DAILY';
        retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(`${day}T00:00:00Z`) + 86_400_000 - t) / 1000));
      } else if (b.recent.length >= config.perTenSeconds) {
        limitedBy = 'TEN_SECONDLY_ROLLING';
        retryAfterSeconds = Math.max(1, Math.ceil((b.recent[0]! + WINDOW_MS - t) / 1000));
      } else {
        b.recent.push(t);
        b.usedToday += 1;
      }
      const headers: Record<string, string> = {
        'X-HubSpot-RateLimit-Daily': String(config.perDay),
        'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, config.perDay - b.usedToday)),
        'X-HubSpot-RateLimit-Interval-Milliseconds': String(WINDOW_MS),
        'X-HubSpot-RateLimit-Max': String(config.perTenSeconds),
        'X-HubSpot-RateLimit-Remaining': String(Math.max(0, config.perTenSeconds - b.recent.length)),
      };
      if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(retryAfterSeconds);
      return limitedBy ? { limitedBy, retryAfterSeconds, headers } : { headers };
    },
    reset() {
      budgets.clear();
    },
  };
}

/** HubSpot's 429 body. `category` is not in HubSpot's real 429 body, but the spec's `Error` schema requires it. */
export function rateLimitBody(policy: 'TEN_SECONDLY_ROLLING' | 'DAILY', correlationId: string): Record<string, string> {
  return {
    status: 'error',
    message: policy === 'DAILY' ? 'You have reached your daily limit.' : 'You have reached your ten_secondly_rolling limit.',
    errorType: 'RATE_LIMIT',
    correlationId,
    policyName: policy,
    category: 'RATE_LIMITS',
  };
}

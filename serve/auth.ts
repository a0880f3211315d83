import { createHash } from 'node:crypto';

const digest = (key: string) => createHash('sha256').update(key).digest('hex');

/**
 * Checks `Authorization: Bearer <key>` against the configured keys and returns the key's name (for rate
 * limits and logs), or undefined. Keys are held and compared as sha256 digests; the key itself is never logged.
 */
export function makeApiKeyCheck(keys: Map<string, string>): (authorization: string | undefined) => string | undefined {
  const byDigest = new Map([...keys].map(([key, name]) => [digest(key), name]));
  return (authorization) => {
    const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    return match ? byDigest.get(digest(match[1]!)) : undefined;
  };
}

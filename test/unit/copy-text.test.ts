import { describe, expect, it } from 'vitest';
import { decodeCopyField, encodeCopyField, inWritesOf64KiB } from '../../db/copy-text.js';

describe('COPY text format', () => {
  it('round-trips text with tabs, newlines, backslashes and unicode', () => {
    for (const value of ['plain', 'tab\there', 'line\nbreak', 'back\\slash', 'cr\rlf', 'Zoë 🚀', '']) {
      expect(decodeCopyField(encodeCopyField(value))).toBe(value);
    }
  });

  it('reads \\N as NULL and keeps numbers as written', () => {
    expect(decodeCopyField('\\N')).toBeNull();
    expect(encodeCopyField(null)).toBe('\\N');
    expect(encodeCopyField(0.125)).toBe('0.125');
  });

  it('decodes octal and hex escapes PostgreSQL may emit', () => {
    expect(decodeCopyField('a\\101\\x42')).toBe('aAB');
  });

  it('joins lines into writes of about 64 KiB, keeping every line whole and in order', () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `${i}\t0.5\n`);
    const writes = [...inWritesOf64KiB(lines)];
    expect(writes.join('')).toBe(lines.join(''));
    expect(writes.length).toBeGreaterThan(1);
    expect(writes.every((w) => w.endsWith('\n') && w.length <= (1 << 16) + 16)).toBe(true);
    expect([...inWritesOf64KiB([])]).toEqual([]);
  });
});

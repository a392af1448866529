import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../domain/store/cursor';

describe('pagination cursors', () => {
  const key = { PK: 'ORG#a#CARD#card_1', SK: '#META', GSI1PK: 'ORG#a#PIPES', GSI1SK: 'pipe_1' };
  const expect_ = () => ({ GSI1PK: 'ORG#a#PIPES' });

  it('round-trips within the same query', () => {
    expect(decodeCursor('pipes:a', encodeCursor('pipes:a', { key }), expect_)).toEqual({ key });
  });

  it('refuses a cursor of another query or organization', () => {
    const cursor = encodeCursor('pipes:a', { key });
    expect(() => decodeCursor('pipes:b', cursor, expect_)).toThrow(/cursor/);
  });

  it('refuses any altered byte', () => {
    const cursor = encodeCursor('pipes:a', { key });
    for (let i = 0; i < cursor.length; i += 7) {
      const altered = cursor.slice(0, i) + (cursor[i] === 'x' ? 'y' : 'x') + cursor.slice(i + 1);
      expect(() => decodeCursor('pipes:a', altered, expect_)).toThrow();
    }
  });

  it('refuses a well-formed cursor whose key points into another partition', () => {
    const forged = encodeCursor('pipes:a', { key: { ...key, GSI1PK: 'ORG#b#PIPES' } });
    expect(() => decodeCursor('pipes:a', forged, expect_)).toThrow(/cursor/);
  });
});

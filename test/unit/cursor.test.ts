import { createHash, createHmac, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, setCursorKey } from '../../domain/kernel/cursor';

const secret = randomBytes(32);
beforeAll(() => setCursorKey(secret));

describe('pagination cursors', () => {
  const key = { PK: 'ORG#a#CARD#card_1', SK: '#META', GSI1PK: 'ORG#a#PIPES', GSI1SK: 'pipe_1' };
  const expect_ = () => ({ GSI1PK: 'ORG#a#PIPES' });
  const payloadOf = (state: unknown) => Buffer.from(JSON.stringify(state)).toString('base64url');

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

  it('refuses a tag whose last character differs only in the bits a base64url decoder ignores', () => {
    const cursor = encodeCursor('pipes:a', { key });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // A 32-byte tag is 43 characters; the last one holds 4 bits of it and 2 unused ones.
    const last = alphabet.indexOf(cursor.at(-1)!);
    const sameBits = alphabet[last ^ 1]!;
    const altered = cursor.slice(0, -1) + sameBits;
    expect(Buffer.from(altered.split('.')[1]!, 'base64url')).toEqual(Buffer.from(cursor.split('.')[1]!, 'base64url'));
    expect(() => decodeCursor('pipes:a', altered, expect_)).toThrow(/cursor/);
  });

  it('refuses a cursor forged without the key: the old unkeyed digest, and an HMAC under another key', () => {
    const payload = payloadOf({ key });
    const unkeyed = createHash('sha256').update('pipes:a').update('\0').update(payload).digest('base64url').slice(0, 22);
    expect(() => decodeCursor('pipes:a', `${payload}.${unkeyed}`, expect_)).toThrow(/cursor/);
    const foreign = createHmac('sha256', randomBytes(32)).update('pipes:a').update('\0').update(payload).digest('base64url');
    expect(() => decodeCursor('pipes:a', `${payload}.${foreign}`, expect_)).toThrow(/cursor/);
  });

  it('refuses a signed cursor whose key points into another partition', () => {
    const forged = encodeCursor('pipes:a', { key: { ...key, GSI1PK: 'ORG#b#PIPES' } });
    expect(() => decodeCursor('pipes:a', forged, expect_)).toThrow(/cursor/);
  });

  it('refuses a start key DynamoDB would reject: key attributes missing, or outside the sort-key range', () => {
    const { SK: _sk, ...noSk } = key;
    expect(() => decodeCursor('pipes:a', encodeCursor('pipes:a', { key: noSk }), expect_)).toThrow(/cursor/);
    const { GSI1SK: _g, ...noIndexSk } = key;
    expect(() => decodeCursor('pipes:a', encodeCursor('pipes:a', { key: noIndexSk }), expect_)).toThrow(/cursor/);
    expect(() => decodeCursor('pipes:a', encodeCursor('pipes:a', { key: {} }), expect_)).toThrow(/cursor/);
    const children = { sortPrefix: { SK: 'CHILD#conn_1#' } };
    const meta = encodeCursor('children:a', { key: { PK: 'ORG#a#CARD#card_1', SK: '#META' } });
    expect(() => decodeCursor('children:a', meta, () => ({ PK: 'ORG#a#CARD#card_1' }), children)).toThrow(/cursor/);
    const edge = { PK: 'ORG#a#CARD#card_1', SK: 'CHILD#conn_1#card_2' };
    expect(decodeCursor('children:a', encodeCursor('children:a', { key: edge }), () => ({ PK: 'ORG#a#CARD#card_1' }), children)).toEqual({ key: edge });
  });

  it('refuses garbage with a 400, never an exception of another kind', () => {
    for (const garbage of ['', '.', 'a.b.c', 'not-base64!.x', `${payloadOf('just a string')}.x`]) {
      expect(() => decodeCursor('pipes:a', garbage, expect_)).toThrow(expect.objectContaining({ status: 400 }));
    }
  });
});

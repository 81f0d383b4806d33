import { describe, expect, it } from 'vitest';
import { WaitQueue } from './wait-queue';

describe('WaitQueue', () => {
  it('orders by priority (higher first), then arrival', () => {
    const q = new WaitQueue<{ priority: number; seq: number; name: string }>();
    const items = [
      { priority: 0, seq: 0, name: 'a' },
      { priority: 5, seq: 1, name: 'b' },
      { priority: 0, seq: 2, name: 'c' },
      { priority: 5, seq: 3, name: 'd' },
      { priority: -1, seq: 4, name: 'e' },
      { priority: 1, seq: 5, name: 'f' },
    ];
    for (const i of items) q.push(i);
    expect(q.toArray().map((i) => i.name)).toEqual(['b', 'd', 'f', 'a', 'c', 'e']);
    expect(q.shift()?.name).toBe('b');
    expect(q.peek()?.name).toBe('d');
  });

  it('removes an arbitrary entry by identity', () => {
    const q = new WaitQueue<{ priority: number; seq: number }>();
    const a = { priority: 0, seq: 0 };
    const b = { priority: 0, seq: 1 };
    q.push(a);
    q.push(b);
    expect(q.remove(a)).toBe(true);
    expect(q.remove(a)).toBe(false);
    expect(q.has(b)).toBe(true);
    expect(q.size).toBe(1);
    expect(q.drain()).toEqual([b]);
    expect(q.size).toBe(0);
  });
});

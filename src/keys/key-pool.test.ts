import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/config-error';
import { NoUsableKeyError } from '../errors/no-usable-key-error';
import { ResilientClaudeError } from '../errors/resilient-claude-error';
import { KeyPool } from './key-pool';
import { seededRandom } from './strategies';
import { DEFAULT_QUARANTINE_MS, type KeyPoolOptions } from './types';

const SECRETS = ['sk-ant-secret-one', 'sk-ant-secret-two', 'sk-ant-secret-three'];

function picks(pool: KeyPool, n: number): string[] {
  return Array.from({ length: n }, () => pool.pick().alias);
}

function count(list: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of list) out[x] = (out[x] ?? 0) + 1;
  return out;
}

function configError(options: KeyPoolOptions): ConfigError {
  try {
    new KeyPool(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('KeyPool options', () => {
  it('defaults aliases to key-<n> (never from the key), weight 1, round robin, shared limits, 10 min quarantine', () => {
    const pool = new KeyPool({ apiKeys: SECRETS });
    expect(pool.aliases).toEqual(['key-1', 'key-2', 'key-3']);
    expect(pool.strategy).toBe('round_robin');
    expect(pool.sharedLimits).toBe(true);
    expect(pool.quarantineMs).toBe(DEFAULT_QUARANTINE_MS);
    expect(pool.snapshot().map((s) => s.weight)).toEqual([1, 1, 1]);
  });

  it('accepts entries with alias and weight, mixed with plain strings', () => {
    const pool = new KeyPool({ apiKeys: [{ key: SECRETS[0]!, alias: 'primary', weight: 3 }, SECRETS[1]!] });
    expect(pool.snapshot().map(({ alias, weight }) => ({ alias, weight }))).toEqual([
      { alias: 'primary', weight: 3 },
      { alias: 'key-2', weight: 1 },
    ]);
  });

  it.each<[string, KeyPoolOptions, string]>([
    ['empty list', { apiKeys: [] }, 'apiKeys'],
    ['empty key', { apiKeys: [''] }, 'apiKeys[0].key'],
    ['bad entry', { apiKeys: [42 as unknown as string] }, 'apiKeys[0]'],
    ['zero weight', { apiKeys: [{ key: SECRETS[0]!, weight: 0 }] }, 'apiKeys[0].weight'],
    ['NaN weight', { apiKeys: [{ key: SECRETS[0]!, weight: Number.NaN }] }, 'apiKeys[0].weight'],
    ['empty alias', { apiKeys: [{ key: SECRETS[0]!, alias: '' }] }, 'apiKeys[0].alias'],
    ['duplicate key', { apiKeys: [SECRETS[0]!, SECRETS[0]!] }, 'apiKeys[1].key'],
    ['duplicate alias', { apiKeys: [{ key: SECRETS[0]!, alias: 'key-2' }, SECRETS[1]!] }, 'apiKeys[1].alias'],
    ['alias containing a key', { apiKeys: [SECRETS[0]!, { key: SECRETS[1]!, alias: `prod-${SECRETS[0]!}` }] }, 'apiKeys[1].alias'],
    ['strategy', { apiKeys: SECRETS, keyStrategy: 'fastest' as 'random' }, 'keyStrategy'],
    ['quarantineMs', { apiKeys: SECRETS, quarantineMs: 0 }, 'quarantineMs'],
    ['sharedLimits', { apiKeys: SECRETS, sharedLimits: 'yes' as unknown as boolean }, 'sharedLimits'],
  ])('rejects %s with a ConfigError naming the option and never the key', (_name, options, option) => {
    const error = configError(options);
    expect(error.option).toBe(option);
    for (const secret of SECRETS) expect(error.message).not.toContain(secret);
  });
});

describe('KeyPool strategies', () => {
  it('round_robin: exact rotation with equal weights', () => {
    const pool = new KeyPool({ apiKeys: SECRETS });
    expect(picks(pool, 9)).toEqual(['key-1', 'key-2', 'key-3', 'key-1', 'key-2', 'key-3', 'key-1', 'key-2', 'key-3']);
  });

  it('round_robin: weights give exact shares per cycle, interleaved', () => {
    const pool = new KeyPool({ apiKeys: [{ key: 'secret-a', alias: 'a', weight: 3 }, { key: 'secret-b', alias: 'b', weight: 1 }] });
    const first = picks(pool, 4);
    expect(first).toEqual(['a', 'a', 'b', 'a']); // smooth: b is not left to the end of the cycle
    expect(count(picks(pool, 400))).toEqual({ a: 300, b: 100 });
  });

  it('round_robin skips quarantined keys and keeps rotating over the rest', () => {
    const pool = new KeyPool({ apiKeys: SECRETS });
    pool.quarantine('key-2', 'authentication_error', { status: 401 });
    expect(picks(pool, 4)).toEqual(['key-1', 'key-3', 'key-1', 'key-3']);
  });

  it('random: reproducible with a seeded source, shares follow weights', () => {
    const options: KeyPoolOptions = {
      apiKeys: [{ key: 'secret-a', alias: 'a', weight: 2 }, { key: 'secret-b', alias: 'b', weight: 1 }, { key: 'secret-c', alias: 'c', weight: 1 }],
      keyStrategy: 'random',
    };
    const one = picks(new KeyPool({ ...options, random: seededRandom(7) }), 50);
    const two = picks(new KeyPool({ ...options, random: seededRandom(7) }), 50);
    expect(one).toEqual(two);
    const counts = count(picks(new KeyPool({ ...options, random: seededRandom(1) }), 8000));
    // Deterministic for this seed; the bounds document what "follows weights" means.
    expect(counts.a! / 8000).toBeGreaterThan(0.47);
    expect(counts.a! / 8000).toBeLessThan(0.53);
    expect(counts.b! / 8000).toBeGreaterThan(0.22);
    expect(counts.c! / 8000).toBeGreaterThan(0.22);
  });

  it('random: maps draws onto weight intervals', () => {
    const draws = [0, 0.49, 0.5, 0.74, 0.75, 0.999];
    const pool = new KeyPool({
      apiKeys: [{ key: 'secret-a', alias: 'a', weight: 2 }, { key: 'secret-b', alias: 'b', weight: 1 }, { key: 'secret-c', alias: 'c', weight: 1 }],
      keyStrategy: 'random',
      random: () => draws.shift() ?? 0,
    });
    expect(picks(pool, 6)).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
  });

  it('least_loaded: the idle key wins; idle keys share sequential traffic in rotation', () => {
    const pool = new KeyPool({ apiKeys: SECRETS, keyStrategy: 'least_loaded' });
    expect(picks(pool, 3)).toEqual(['key-1', 'key-2', 'key-3']);
    pool.acquire('key-1');
    pool.acquire('key-2');
    expect(pool.pick().alias).toBe('key-3');
    pool.acquire('key-3');
    pool.acquire('key-3');
    // key-1 and key-2 now carry 1 each, key-3 carries 2.
    expect(['key-1', 'key-2']).toContain(pool.pick().alias);
    pool.release('key-3');
    pool.release('key-3');
    pool.release('key-3'); // never below zero
    expect(pool.snapshot().map((s) => s.inFlight)).toEqual([1, 1, 0]);
    expect(pool.pick().alias).toBe('key-3');
  });

  it('least_loaded: load is per unit of weight', () => {
    const pool = new KeyPool({ apiKeys: [{ key: 'secret-a', alias: 'a', weight: 4 }, { key: 'secret-b', alias: 'b', weight: 1 }], keyStrategy: 'least_loaded' });
    for (let i = 0; i < 3; i++) pool.acquire('a'); // 3/4 < 1/1
    pool.acquire('b');
    expect(pool.pick().alias).toBe('a');
  });

  it('least_loaded: remaining capacity breaks ties; keys with none left come last', () => {
    const room: Record<string, number | undefined> = { 'key-1': 0.2, 'key-2': 0.9, 'key-3': undefined };
    const pool = new KeyPool({ apiKeys: SECRETS, keyStrategy: 'least_loaded', capacity: (alias) => room[alias] });
    // Unknown capacity counts as full.
    expect(pool.pick().alias).toBe('key-3');
    room['key-3'] = 0.5;
    expect(pool.pick().alias).toBe('key-2');
    room['key-2'] = 0;
    room['key-3'] = 0;
    pool.acquire('key-1'); // busier, but the only key with capacity left
    expect(pool.pick().alias).toBe('key-1');
    pool.setCapacitySource(undefined);
    expect(pool.pick().alias).not.toBe('key-1');
  });

  it('avoid: another key when one is usable, the same key when it is the only one', () => {
    const pool = new KeyPool({ apiKeys: SECRETS });
    for (let i = 0; i < 6; i++) expect(pool.pick({ avoid: 'key-1' }).alias).not.toBe('key-1');
    pool.quarantine('key-2', 'x');
    pool.quarantine('key-3', 'x');
    expect(pool.pick({ avoid: 'key-1' }).alias).toBe('key-1');
  });
});

describe('KeyPool quarantine', () => {
  it('keeps a key out for quarantineMs, then re-admits it; snapshots say why and until when', () => {
    let now = 1_000_000;
    const pool = new KeyPool({ apiKeys: SECRETS, quarantineMs: 5_000, now: () => now });
    expect(pool.quarantine('key-2', 'authentication_error', { status: 401 })).toBe(true);
    expect(pool.quarantine('key-2', 'authentication_error', { status: 401 })).toBe(false); // already out
    expect(pool.snapshot()[1]).toEqual({
      alias: 'key-2',
      weight: 1,
      inFlight: 0,
      requests: 0,
      quarantined: true,
      quarantinedUntil: 1_005_000,
      reason: 'authentication_error',
      status: 401,
    });
    expect(pool.usableCount()).toBe(2);
    now += 4_999;
    expect(pool.isQuarantined('key-2')).toBe(true);
    now += 1;
    expect(pool.isQuarantined('key-2')).toBe(false);
    expect(pool.snapshot()[1]).toMatchObject({ quarantined: false, quarantinedUntil: null });
    expect(pool.snapshot()[1]).not.toHaveProperty('reason');
  });

  it('Infinity (or a per-call duration) keeps a key out until restore()', () => {
    let now = 0;
    const pool = new KeyPool({ apiKeys: SECRETS, quarantineMs: Infinity, now: () => now });
    pool.quarantine('key-1', 'authentication_error', { status: 401 });
    pool.quarantine('key-3', 'permission_error', { status: 403, durationMs: 10 });
    now = 1e12;
    expect(pool.quarantinedUntil('key-1')).toBeNull();
    expect(pool.isQuarantined('key-3')).toBe(false);
    expect(pool.restore('key-1')).toBe(true);
    expect(pool.restore('nope')).toBe(false);
    expect(pool.isQuarantined('key-1')).toBe(false);
  });

  it('every key out: NoUsableKeyError with aliases, statuses and the earliest re-check', () => {
    let now = 0;
    const pool = new KeyPool({ apiKeys: SECRETS, quarantineMs: 60_000, now: () => now });
    pool.quarantine('key-1', 'authentication_error', { status: 401 });
    now = 1_000;
    pool.quarantine('key-2', 'permission_error', { status: 403 });
    pool.quarantine('key-3', 'authentication_error', { status: 401, durationMs: Infinity });
    now = 2_000;
    let error: unknown;
    try {
      pool.pick();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NoUsableKeyError);
    expect(error).toBeInstanceOf(ResilientClaudeError);
    const e = error as NoUsableKeyError;
    expect(e.code).toBe('NO_USABLE_KEY');
    expect(e.name).toBe('NoUsableKeyError');
    expect(e.retryAfterMs).toBe(58_000);
    expect(e.keys).toEqual([
      { alias: 'key-1', reason: 'authentication_error', status: 401, quarantinedUntil: 60_000 },
      { alias: 'key-2', reason: 'permission_error', status: 403, quarantinedUntil: 61_000 },
      { alias: 'key-3', reason: 'authentication_error', status: 401, quarantinedUntil: null },
    ]);
    expect(e.message).toContain('key-1: 401');
    expect(e.message).not.toMatch(/timed? ?out/i);
    for (const secret of SECRETS) expect(JSON.stringify({ ...e, message: e.message })).not.toContain(secret);
    expect(() => pool.assertUsable()).toThrow(NoUsableKeyError);
  });

  it('all out until restored: no retryAfterMs, the message says to restore', () => {
    const pool = new KeyPool({ apiKeys: [SECRETS[0]!], quarantineMs: Infinity });
    pool.quarantine('key-1', 'authentication_error', { status: 401 });
    expect(() => pool.pick()).toThrow(/restore/);
    try {
      pool.pick();
    } catch (e) {
      expect((e as NoUsableKeyError).retryAfterMs).toBeUndefined();
    }
  });

  it('redacts key text from a quarantine reason', () => {
    const pool = new KeyPool({ apiKeys: SECRETS });
    pool.quarantine('key-1', `revoked: ${SECRETS[0]!}`);
    expect(pool.snapshot()[0]?.reason).toBe('revoked: [redacted]');
  });
});

describe('KeyPool never exposes a key', () => {
  it('picked keys, snapshots and the pool serialize and inspect without key text', () => {
    const pool = new KeyPool({ apiKeys: SECRETS, keyStrategy: 'least_loaded' });
    const picked = pool.pick();
    expect(picked.key).toBe(SECRETS[0]);
    pool.acquire(picked.alias);
    const views = [
      JSON.stringify(picked),
      JSON.stringify({ ...picked }),
      inspect(picked, { depth: 5, showHidden: true }),
      JSON.stringify(pool.snapshot()),
      JSON.stringify(pool),
      inspect(pool, { depth: 5, showHidden: true }),
      String(Object.keys(picked)),
    ];
    for (const view of views) for (const secret of SECRETS) expect(view).not.toContain(secret);
  });

  it('scopes rate limits by alias only when keys do not share limits', () => {
    expect(new KeyPool({ apiKeys: SECRETS }).rateLimitScope('key-1')).toBeUndefined();
    expect(new KeyPool({ apiKeys: SECRETS, sharedLimits: false }).rateLimitScope('key-1')).toBe('key-1');
  });
});

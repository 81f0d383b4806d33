import { describe, expect, it } from 'vitest';
import { maskKey } from './mask';
import { createMemoryKeyring, keyringDisabledByEnv, loadOsKeyring, napiKeyring, type NapiKeyringModule } from './keyring';
import { fakeKey } from './test-helpers';

/** A stand-in for `@napi-rs/keyring`'s `Entry` class, backed by a Map. */
function fakeNapiModule(options: { throwOnMissing?: boolean; broken?: boolean } = {}): NapiKeyringModule {
  const store = new Map<string, string>();
  class Entry {
    private readonly id: string;
    constructor(service: string, account: string) {
      this.id = `${service}/${account}`;
    }
    getPassword(): string | null {
      if (options.broken) throw new Error('Platform secure storage failure: no Secret Service');
      const value = store.get(this.id);
      if (value === undefined && options.throwOnMissing) throw new Error('No matching entry found in secure storage');
      return value ?? null;
    }
    setPassword(password: string): void {
      store.set(this.id, password);
    }
    deletePassword(): boolean {
      if (!store.has(this.id) && options.throwOnMissing) throw new Error('No matching entry found in secure storage');
      return store.delete(this.id);
    }
  }
  return { Entry };
}

describe('napiKeyring', () => {
  for (const throwOnMissing of [false, true]) {
    it(`adapts Entry (missing entries ${throwOnMissing ? 'throw' : 'return null'})`, () => {
      const keyring = napiKeyring(fakeNapiModule({ throwOnMissing }));
      expect(keyring.get('svc', 'acct')).toBeNull();
      keyring.set('svc', 'acct', 'secret');
      expect(keyring.get('svc', 'acct')).toBe('secret');
      expect(keyring.delete('svc', 'acct')).toBe(true);
      expect(keyring.delete('svc', 'acct')).toBe(false);
    });
  }

  it('lets real failures through (the resolver skips a throwing keyring)', () => {
    expect(() => napiKeyring(fakeNapiModule({ broken: true })).get('s', 'a')).toThrow(/secure storage/);
  });
});

describe('loadOsKeyring', () => {
  it('returns null, without throwing, when the optional package is absent or unusable', () => {
    expect(
      loadOsKeyring(() => {
        throw new Error("Cannot find module '@napi-rs/keyring'");
      }),
    ).toBeNull();
    expect(loadOsKeyring(() => ({ notEntry: true }))).toBeNull();
    // The real lookup never throws: null where the package is not installed (as in this repository).
    const real = loadOsKeyring();
    expect(real === null || typeof real.get === 'function').toBe(true);
  });

  it('adapts the module when it loads', () => {
    const keyring = loadOsKeyring((id) => (id === '@napi-rs/keyring' ? fakeNapiModule() : undefined));
    keyring?.set('s', 'a', 'v');
    expect(keyring?.get('s', 'a')).toBe('v');
  });

  it('is turned off by RESILIENT_CLAUDE_KEYRING=off', () => {
    for (const value of ['off', 'OFF', '0', 'false', 'no']) expect(keyringDisabledByEnv({ RESILIENT_CLAUDE_KEYRING: value })).toBe(true);
    for (const value of [undefined, '', 'on', '1']) expect(keyringDisabledByEnv({ RESILIENT_CLAUDE_KEYRING: value })).toBe(false);
  });
});

describe('createMemoryKeyring', () => {
  it('stores by service and account', () => {
    const keyring = createMemoryKeyring({ 'a/b': 'x' });
    expect(keyring.get('a', 'b')).toBe('x');
    expect(keyring.get('a', 'c')).toBeNull();
  });
});

describe('maskKey', () => {
  it('keeps the sk-ant- prefix and the last 4 characters of an Anthropic key', () => {
    const key = fakeKey('wxyz');
    expect(maskKey(key)).toBe('sk-ant-…wxyz');
    expect(maskKey(key)).not.toContain(key.slice(7, -4));
  });

  it('keeps only the last 4 of another long token', () => {
    expect(maskKey(`tok_${'a'.repeat(30)}9876`)).toBe('…9876');
  });

  it('fully masks short or odd strings, hiding their length', () => {
    for (const value of ['', 'sk-ant-abc', 'short', 'a passphrase with spaces in it!', 'sk-ant-ünïcödé-ünïcödé-ünïcödé', `${fakeKey()}\n`]) {
      expect(maskKey(value)).toBe('****');
    }
    expect(maskKey(42 as unknown as string)).toBe('****');
  });
});

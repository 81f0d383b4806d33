import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { KeyStoreError } from '../errors/key-store-error';
import { writeKeyFile } from './key-file';
import { createMemoryKeyring, KEYRING_API_KEY_ACCOUNT, KEYRING_SERVICE, type KeyringBackend } from './keyring';
import { resolveApiKey, resolveApiKeyLazily, resolveApiKeySync, type ResolveApiKeyOptions } from './resolve-key';
import { FAST_SCRYPT, fakeKey, tempDir } from './test-helpers';

const PASS = 'resolver passphrase';

async function setup() {
  const keys = { option: fakeKey('opt1'), env: fakeKey('env1'), keyring: fakeKey('kr01'), file: fakeKey('file') };
  const file = join(tempDir(), 'key.enc');
  await writeKeyFile(file, keys.file, { passphrase: PASS, scrypt: FAST_SCRYPT });
  const keyring = createMemoryKeyring({ [`${KEYRING_SERVICE}/${KEYRING_API_KEY_ACCOUNT}`]: keys.keyring });
  return { keys, file, keyring };
}

/** Every resolver variant, reduced to `{ key, source }`. */
const resolvers: Record<string, (o: ResolveApiKeyOptions) => Promise<{ key: string; source: string } | null>> = {
  sync: async (o) => resolveApiKeySync(o),
  async: (o) => resolveApiKey(o),
  lazy: async (o) => {
    const found = resolveApiKeyLazily(o);
    return found ? { key: await found.getKey(), source: found.source } : null;
  },
};

describe.each(Object.keys(resolvers))('key chain (%s)', (variant) => {
  const resolve = resolvers[variant]!;

  it('prefers option > env > keyring > file', async () => {
    const { keys, file, keyring } = await setup();
    const env = { ANTHROPIC_API_KEY: keys.env, RESILIENT_CLAUDE_PASSPHRASE: PASS };
    const common = { keyFile: file, keyring, env };
    expect(await resolve({ ...common, apiKey: keys.option })).toEqual({ key: keys.option, source: 'option' });
    expect(await resolve(common)).toEqual({ key: keys.env, source: 'env' });
    expect(await resolve({ ...common, env: { RESILIENT_CLAUDE_PASSPHRASE: PASS } })).toEqual({ key: keys.keyring, source: 'keyring' });
    keyring.delete(KEYRING_SERVICE, KEYRING_API_KEY_ACCOUNT);
    expect(await resolve({ ...common, env: { RESILIENT_CLAUDE_PASSPHRASE: PASS } })).toEqual({ key: keys.file, source: 'file' });
    expect(await resolve({ keyFile: join(file, '..', 'missing.enc'), keyring, env: {} })).toBeNull();
  });

  it('does not touch the keyring or the file when the option or env supplies the key', async () => {
    const { keys } = await setup();
    const get = vi.fn(() => null);
    const keyring: KeyringBackend = { get, set: vi.fn(), delete: vi.fn(() => false) };
    const unreadable = join(tempDir(), 'key.enc');
    writeFileSync(unreadable, 'garbage', { mode: 0o600 });
    expect(await resolve({ apiKey: keys.option, keyring, keyFile: unreadable, env: {} })).toMatchObject({ source: 'option' });
    expect(await resolve({ keyring, keyFile: unreadable, env: { ANTHROPIC_API_KEY: keys.env } })).toMatchObject({ source: 'env' });
    expect(get).not.toHaveBeenCalled();
  });

  it('treats empty and blank values as absent', async () => {
    const { keys, file, keyring } = await setup();
    expect(await resolve({ apiKey: '', keyring, keyFile: file, env: { ANTHROPIC_API_KEY: '  ' } })).toEqual({
      key: keys.keyring,
      source: 'keyring',
    });
  });

  it('skips a failing keyring (reporting it) and falls through to the file', async () => {
    const { keys, file } = await setup();
    const failure = new Error('Platform secure storage failure');
    const broken: KeyringBackend = {
      get: () => {
        throw failure;
      },
      set: () => undefined,
      delete: () => false,
    };
    const onKeyringError = vi.fn();
    expect(await resolve({ keyring: broken, keyFile: file, passphrase: PASS, env: {}, onKeyringError })).toEqual({ key: keys.file, source: 'file' });
    expect(onKeyringError).toHaveBeenCalledWith(failure);
  });

  it('reads the file location and passphrase from the environment', async () => {
    const { keys, file } = await setup();
    const env = { RESILIENT_CLAUDE_KEY_FILE: file, RESILIENT_CLAUDE_PASSPHRASE: PASS };
    expect(await resolve({ keyring: false, env })).toEqual({ key: keys.file, source: 'file' });
  });

  it('keyFile: false and keyring: false skip those sources', async () => {
    const { file, keyring } = await setup();
    expect(await resolve({ keyring, keyFile: false, env: {} })).not.toBeNull();
    keyring.delete(KEYRING_SERVICE, KEYRING_API_KEY_ACCOUNT);
    expect(await resolve({ keyring, keyFile: false, env: {} })).toBeNull();
    expect(await resolve({ keyring: false, keyFile: false, env: { RESILIENT_CLAUDE_KEY_FILE: file } })).toBeNull();
  });

  it('reports a misconfigured file instead of skipping it: wrong passphrase, no passphrase, 0644', async () => {
    const { keys, file } = await setup();
    const base = { keyring: false as const, keyFile: file, env: {} };
    for (const options of [{ ...base, passphrase: 'wrong' }, base]) {
      const error = await resolve(options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(KeyStoreError);
      expect(String((error as Error).message)).not.toContain(keys.file);
      expect(String((error as Error).message)).not.toContain(PASS);
    }
    if (process.platform !== 'win32') {
      chmodSync(file, 0o644);
      await expect(resolve({ ...base, passphrase: PASS })).rejects.toMatchObject({ reason: 'insecure_permissions' });
    }
  });
});

describe('resolveApiKeyLazily', () => {
  it('knows the key at once for option, env and keyring sources', async () => {
    const { keys, keyring } = await setup();
    const found = resolveApiKeyLazily({ keyring, keyFile: false, env: {} });
    expect(found?.source).toBe('keyring');
    expect(found?.key).toBe(keys.keyring);
    expect(await found?.getKey()).toBe(keys.keyring);
  });

  it('defers scrypt for a passphrase file and caches the decryption', async () => {
    const { keys, file } = await setup();
    const found = resolveApiKeyLazily({ keyring: false, keyFile: file, passphrase: PASS, env: {} });
    expect(found?.source).toBe('file');
    expect(found?.key).toBeUndefined();
    const first = found!.getKey();
    expect(found!.getKey()).toBe(first);
    expect(await first).toBe(keys.file);
  });

  it('decrypts a keyring-protected file at once (there is no KDF to defer)', async () => {
    const dir = tempDir();
    const file = join(dir, 'key.enc');
    const keyring = createMemoryKeyring();
    const key = fakeKey();
    await writeKeyFile(file, key, { keyring });
    const found = resolveApiKeyLazily({ keyring, keyFile: file, env: {} });
    expect(found).toMatchObject({ source: 'file', key });
  });

  it('throws configuration errors synchronously and caches a decryption failure', async () => {
    const { file } = await setup();
    expect(() => resolveApiKeyLazily({ keyring: false, keyFile: file, env: {} })).toThrow(
      expect.objectContaining({ reason: 'passphrase_required' }),
    );
    const found = resolveApiKeyLazily({ keyring: false, keyFile: file, passphrase: 'wrong', env: {} });
    const first = found!.getKey();
    await expect(first).rejects.toMatchObject({ reason: 'wrong_passphrase' });
    expect(found!.getKey()).toBe(first);
  });

  it('returns null when no source has a key', () => {
    expect(resolveApiKeyLazily({ keyring: false, keyFile: join(tempDir(), 'none'), env: {} })).toBeNull();
  });

  it('refuses an insecure or malformed file at once', () => {
    const file = join(tempDir(), 'key.enc');
    writeFileSync(file, '{}', { mode: 0o600 });
    expect(() => resolveApiKeyLazily({ keyring: false, keyFile: file, env: {} })).toThrow(expect.objectContaining({ reason: 'malformed' }));
  });
});

import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyStoreError, type KeyStoreErrorReason } from '../errors/key-store-error';
import {
  dataKeyAccount,
  DEFAULT_SCRYPT_PARAMS,
  deleteKeyFile,
  KEY_FILE_FORMAT,
  readKeyFile,
  readKeyFileSync,
  writeKeyFile,
} from './key-file';
import { createMemoryKeyring, KEYRING_SERVICE } from './keyring';
import { FAST_SCRYPT, fakeKey, tempDir } from './test-helpers';

const posix = process.platform !== 'win32';
const PASS = 'correct horse battery staple';

async function keyStoreError(fn: () => unknown): Promise<KeyStoreError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof KeyStoreError) return error;
    throw error;
  }
  throw new Error('expected a KeyStoreError');
}

/** Asserts the error is a KeyStoreError with `reason` and that no secret leaks through it. */
async function expectKeyStoreError(fn: () => unknown, reason: KeyStoreErrorReason, secrets: string[]): Promise<KeyStoreError> {
  const error = await keyStoreError(fn);
  expect(error.reason).toBe(reason);
  const visible = `${error.message}\n${error.stack ?? ''}\n${JSON.stringify(error)}`;
  for (const secret of secrets) expect(visible).not.toContain(secret);
  expect(visible).not.toMatch(/timed? ?out/i);
  return error;
}

function edit(file: string, change: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  change(json);
  writeFileSync(file, JSON.stringify(json), { mode: 0o600 });
}

/** Flips one bit of a base64 field. */
function flip(b64: unknown): string {
  const bytes = Buffer.from(String(b64), 'base64');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

describe('key file: passphrase protection', () => {
  it('round-trips (sync and async read) and writes the documented self-describing format', async () => {
    const file = join(tempDir(), 'nested', 'dir', 'key.enc');
    const key = fakeKey();
    await writeKeyFile(file, key, { passphrase: PASS, scrypt: FAST_SCRYPT });
    expect(readKeyFileSync(file, { passphrase: PASS })).toBe(key);
    expect(await readKeyFile(file, { passphrase: PASS })).toBe(key);

    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(key);
    expect(text).not.toContain(PASS);
    const json = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(json).sort()).toEqual(['check', 'cipher', 'ciphertext', 'format', 'iv', 'kdf', 'tag', 'version']);
    expect(json).toMatchObject({ format: KEY_FILE_FORMAT, version: 1, cipher: 'aes-256-gcm', kdf: { name: 'scrypt', ...FAST_SCRYPT } });
    expect(Buffer.from(String((json['kdf'] as Record<string, unknown>)['salt']), 'base64')).toHaveLength(16);
    expect(Buffer.from(String(json['iv']), 'base64')).toHaveLength(12);
    expect(Buffer.from(String(json['tag']), 'base64')).toHaveLength(16);
  });

  it.runIf(posix)('creates the file 0600 and a missing directory 0700', async () => {
    const dir = join(tempDir(), 'fresh');
    const file = join(dir, 'key.enc');
    await writeKeyFile(file, fakeKey(), { passphrase: PASS, scrypt: FAST_SCRYPT });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('uses a fresh salt and IV on every write', async () => {
    const file = join(tempDir(), 'key.enc');
    const key = fakeKey();
    await writeKeyFile(file, key, { passphrase: PASS, scrypt: FAST_SCRYPT });
    const first = JSON.parse(readFileSync(file, 'utf8')) as { kdf: { salt: string }; iv: string; ciphertext: string };
    await writeKeyFile(file, key, { passphrase: PASS, scrypt: FAST_SCRYPT });
    const second = JSON.parse(readFileSync(file, 'utf8')) as typeof first;
    expect(second.kdf.salt).not.toBe(first.kdf.salt);
    expect(second.iv).not.toBe(first.iv);
    expect(second.ciphertext).not.toBe(first.ciphertext);
  });

  it('uses the documented default scrypt parameters (N=2^17, r=8, p=1)', async () => {
    expect(DEFAULT_SCRYPT_PARAMS).toEqual({ N: 131072, r: 8, p: 1 });
    const file = join(tempDir(), 'key.enc');
    await writeKeyFile(file, fakeKey(), { passphrase: PASS });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ kdf: { name: 'scrypt', N: 131072, r: 8, p: 1 } });
  });

  it('rejects a wrong passphrase, without leaking the key or either passphrase', async () => {
    const file = join(tempDir(), 'key.enc');
    const key = fakeKey();
    await writeKeyFile(file, key, { passphrase: PASS, scrypt: FAST_SCRYPT });
    const error = await expectKeyStoreError(() => readKeyFileSync(file, { passphrase: 'not it' }), 'wrong_passphrase', [key, PASS, 'not it']);
    expect(error.file).toBe(file);
    expect(error.message).toContain(file);
    await expectKeyStoreError(() => readKeyFile(file, { passphrase: 'not it' }), 'wrong_passphrase', [key, PASS]);
  });

  it('requires a passphrase for a passphrase-protected file', async () => {
    const file = join(tempDir(), 'key.enc');
    await writeKeyFile(file, fakeKey(), { passphrase: PASS, scrypt: FAST_SCRYPT });
    const error = await expectKeyStoreError(() => readKeyFileSync(file, {}), 'passphrase_required', [PASS]);
    expect(error.message).toContain('RESILIENT_CLAUDE_PASSPHRASE');
  });

  it('rejects tampered ciphertext, tag or iv as tampered', async () => {
    const file = join(tempDir(), 'key.enc');
    const key = fakeKey();
    for (const field of ['ciphertext', 'tag', 'iv'] as const) {
      await writeKeyFile(file, key, { passphrase: PASS, scrypt: FAST_SCRYPT });
      edit(file, (json) => {
        json[field] = flip(json[field]);
      });
      await expectKeyStoreError(() => readKeyFileSync(file, { passphrase: PASS }), 'tampered', [key, PASS]);
    }
  });

  it('authenticates the header: edited kdf parameters do not decrypt', async () => {
    const file = join(tempDir(), 'key.enc');
    const key = fakeKey();
    await writeKeyFile(file, key, { passphrase: PASS, scrypt: FAST_SCRYPT });
    edit(file, (json) => {
      (json['kdf'] as Record<string, unknown>)['N'] = 2 ** 15;
    });
    const error = await keyStoreError(() => readKeyFileSync(file, { passphrase: PASS }));
    expect(['wrong_passphrase', 'tampered']).toContain(error.reason);
    expect(error.message).not.toContain(key);
  });

  it('refuses malformed files, newer versions and hostile scrypt parameters', async () => {
    const dir = tempDir();
    const file = join(dir, 'key.enc');
    writeFileSync(file, 'not json', { mode: 0o600 });
    await expectKeyStoreError(() => readKeyFileSync(file, { passphrase: PASS }), 'malformed', []);
    writeFileSync(file, JSON.stringify({ format: KEY_FILE_FORMAT, version: 2 }), { mode: 0o600 });
    expect((await keyStoreError(() => readKeyFileSync(file, { passphrase: PASS }))).message).toMatch(/version 2.*Upgrade/);
    await writeKeyFile(file, fakeKey(), { passphrase: PASS, scrypt: FAST_SCRYPT });
    edit(file, (json) => {
      (json['kdf'] as Record<string, unknown>)['N'] = 2 ** 30; // would need 128 GiB
    });
    await expectKeyStoreError(() => readKeyFileSync(file, { passphrase: PASS }), 'malformed', []);
    await expect(writeKeyFile(file, fakeKey(), { passphrase: PASS, scrypt: { N: 1000 } })).rejects.toThrow(KeyStoreError);
  });

  it('refuses to store an empty key or one with whitespace, and an empty passphrase', async () => {
    const file = join(tempDir(), 'key.enc');
    for (const bad of ['', 'sk-ant with space', `${fakeKey()}\n`]) {
      await expectKeyStoreError(() => writeKeyFile(file, bad, { passphrase: PASS, scrypt: FAST_SCRYPT }), 'invalid_key', [PASS]);
    }
    await expectKeyStoreError(() => writeKeyFile(file, fakeKey(), { passphrase: '' }), 'passphrase_required', []);
  });

  it('returns null for a missing file', async () => {
    const file = join(tempDir(), 'nope.enc');
    expect(readKeyFileSync(file, { passphrase: PASS })).toBeNull();
    expect(await readKeyFile(file, { passphrase: PASS })).toBeNull();
  });
});

describe.runIf(posix)('key file: permissions', () => {
  for (const mode of [0o644, 0o640, 0o604, 0o660, 0o620]) {
    it(`refuses a file with mode ${mode.toString(8)}, naming the file and the fix`, async () => {
      const file = join(tempDir(), 'key.enc');
      const key = fakeKey();
      await writeKeyFile(file, key, { passphrase: PASS, scrypt: FAST_SCRYPT });
      chmodSync(file, mode);
      const error = await expectKeyStoreError(() => readKeyFileSync(file, { passphrase: PASS }), 'insecure_permissions', [key, PASS]);
      expect(error.message).toContain(file);
      expect(error.message).toContain(`chmod 600 ${file}`);
      chmodSync(file, 0o600);
      expect(readKeyFileSync(file, { passphrase: PASS })).toBe(key);
    });
  }
});

describe('key file: atomic writes', () => {
  it('leaves no temporary file behind, on create and on replace', async () => {
    const dir = tempDir();
    const file = join(dir, 'key.enc');
    await writeKeyFile(file, fakeKey(), { passphrase: PASS, scrypt: FAST_SCRYPT });
    await writeKeyFile(file, fakeKey(), { passphrase: PASS, scrypt: FAST_SCRYPT });
    expect(readdirSync(dir)).toEqual(['key.enc']);
  });

  it('on a failed commit, removes the temporary file and leaves the target as it was', async () => {
    const dir = tempDir();
    const target = join(dir, 'key.enc');
    mkdirSync(target); // a directory where the file should go: the final rename fails
    writeFileSync(join(target, 'sentinel'), 'x');
    const error = await expectKeyStoreError(() => writeKeyFile(target, fakeKey(), { passphrase: PASS, scrypt: FAST_SCRYPT }), 'io', [PASS]);
    expect(error.message).toContain(target);
    expect(readdirSync(dir)).toEqual(['key.enc']);
    expect(readdirSync(target)).toEqual(['sentinel']);
  });

  it('deleteKeyFile reports whether there was a file', async () => {
    const file = join(tempDir(), 'key.enc');
    await writeKeyFile(file, fakeKey(), { passphrase: PASS, scrypt: FAST_SCRYPT });
    expect(deleteKeyFile(file)).toBe(true);
    expect(deleteKeyFile(file)).toBe(false);
  });
});

describe('key file: keyring data-key protection', () => {
  it('round-trips with a random data key kept in the keyring, replaced on every write', async () => {
    const file = join(tempDir(), 'key.enc');
    const keyring = createMemoryKeyring();
    const key = fakeKey();
    await writeKeyFile(file, key, { keyring });
    const account = dataKeyAccount(file);
    expect(account).toBe(`key-file-data-key:${file}`);
    const dataKey = keyring.get(KEYRING_SERVICE, account);
    expect(Buffer.from(dataKey ?? '', 'base64')).toHaveLength(32);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ kdf: { name: 'keyring', service: KEYRING_SERVICE, account } });
    expect(readKeyFileSync(file, { keyring })).toBe(key);
    await writeKeyFile(file, key, { keyring });
    expect(keyring.get(KEYRING_SERVICE, account)).not.toBe(dataKey);
    expect(readKeyFileSync(file, { keyring })).toBe(key);
  });

  it('gives each file its own data key: writing one never breaks another', async () => {
    const dir = tempDir();
    const keyring = createMemoryKeyring();
    const [a, b] = [fakeKey('aaaa'), fakeKey('bbbb')];
    await writeKeyFile(join(dir, 'a.enc'), a, { keyring });
    await writeKeyFile(join(dir, 'b.enc'), b, { keyring });
    expect(readKeyFileSync(join(dir, 'a.enc'), { keyring })).toBe(a);
    expect(readKeyFileSync(join(dir, 'b.enc'), { keyring })).toBe(b);
  });

  it('fails clearly when the data key is gone, replaced, or the keyring unusable', async () => {
    const file = join(tempDir(), 'key.enc');
    const keyring = createMemoryKeyring();
    const key = fakeKey();
    await writeKeyFile(file, key, { keyring });
    const account = dataKeyAccount(file);
    const dataKey = keyring.get(KEYRING_SERVICE, account) ?? '';
    await expectKeyStoreError(() => readKeyFileSync(file, {}), 'keyring_unavailable', [key, dataKey]);
    const broken = { get: () => { throw new Error('no secret service'); }, set: () => undefined, delete: () => false };
    await expectKeyStoreError(() => readKeyFileSync(file, { keyring: broken }), 'keyring_unavailable', [key]);
    keyring.set(KEYRING_SERVICE, account, Buffer.alloc(32, 7).toString('base64'));
    await expectKeyStoreError(() => readKeyFileSync(file, { keyring }), 'data_key_mismatch', [key, dataKey]);
    keyring.delete(KEYRING_SERVICE, account);
    await expectKeyStoreError(() => readKeyFileSync(file, { keyring }), 'data_key_mismatch', [key]);
  });

  it('restores the previous data key when the commit fails', async () => {
    const dir = tempDir();
    const target = join(dir, 'key.enc');
    const keyring = createMemoryKeyring({ [`${KEYRING_SERVICE}/${dataKeyAccount(target)}`]: 'previous' });
    mkdirSync(target);
    await expectKeyStoreError(() => writeKeyFile(target, fakeKey(), { keyring }), 'io', []);
    expect(keyring.get(KEYRING_SERVICE, dataKeyAccount(target))).toBe('previous');
    expect(readdirSync(dir)).toEqual(['key.enc']);
  });
});

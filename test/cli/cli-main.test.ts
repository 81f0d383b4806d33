// In-process tests of the CLI (fake keyring, fake terminal). test/cli/cli.test.ts runs the real bin.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { dataKeyAccount } from '../../src/security/key-file';
import { KEYRING_API_KEY_ACCOUNT, KEYRING_SERVICE, createMemoryKeyring, type KeyringBackend } from '../../src/security/keyring';
import { EXIT, runCli, type CliIo } from '../../src/security/cli-main';
import { FAST_SCRYPT, fakeKey, tempDir } from '../../src/security/test-helpers';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(
  args: string[],
  options: { stdin?: string; env?: Record<string, string>; keyring?: KeyringBackend | null; stdoutIsTTY?: boolean; home: string },
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    env: { HOME: options.home, RESILIENT_CLAUDE_KEY_FILE: join(options.home, 'key.enc'), ...options.env },
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    stdout: { write: (s: string) => (stdout += s), isTTY: options.stdoutIsTTY ?? false },
    stderr: { write: (s: string) => (stderr += s) },
    keyring: options.keyring === undefined ? null : options.keyring,
    scrypt: FAST_SCRYPT,
  };
  return runCli(args, io).then((code) => ({ code, stdout, stderr }));
}

function expectNoSecrets(run: Run, secrets: string[]): void {
  for (const secret of secrets) {
    expect(run.stdout).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);
  }
}

describe('CLI in process: keyring store', () => {
  it('set stores in a usable keyring; get, get --masked, rotate --new-key, delete', async () => {
    const home = tempDir();
    const keyring = createMemoryKeyring();
    const key = fakeKey('k001');
    const set = await cli(['key', 'set'], { stdin: `${key}\n`, keyring, home });
    expect(set.code).toBe(EXIT.ok);
    expect(set.stderr).toContain('OS keyring');
    expectNoSecrets(set, [key]);
    expect(keyring.get(KEYRING_SERVICE, KEYRING_API_KEY_ACCOUNT)).toBe(key);
    expect(existsSync(join(home, 'key.enc'))).toBe(false);

    const masked = await cli(['key', 'get', '--masked'], { keyring, home });
    expect(masked).toMatchObject({ code: 0, stdout: 'sk-ant-…k001\n' });
    expect(masked.stderr).toContain('source: OS keyring');

    expect((await cli(['key', 'get'], { keyring, home })).stdout).toBe(`${key}\n`);

    const noNewKey = await cli(['key', 'rotate'], { keyring, home });
    expect(noNewKey.code).toBe(EXIT.usage);

    const next = fakeKey('k002');
    const rotate = await cli(['key', 'rotate', '--new-key'], { stdin: next, keyring, home });
    expect(rotate.code).toBe(EXIT.ok);
    expect(rotate.stderr).toContain('sk-ant-…k001 → sk-ant-…k002');
    expectNoSecrets(rotate, [key, next]);
    expect(keyring.get(KEYRING_SERVICE, KEYRING_API_KEY_ACCOUNT)).toBe(next);

    expect((await cli(['key', 'delete'], { keyring, home })).code).toBe(EXIT.ok);
    expect(keyring.get(KEYRING_SERVICE, KEYRING_API_KEY_ACCOUNT)).toBeNull();
    expect((await cli(['key', 'get', '--masked'], { keyring, home })).code).toBe(EXIT.notFound);
  });

  it('--store file without a passphrase protects the file with a keyring data key', async () => {
    const home = tempDir();
    const keyring = createMemoryKeyring();
    const key = fakeKey('df01');
    expect((await cli(['key', 'set', '--store', 'file'], { stdin: key, keyring, home })).code).toBe(EXIT.ok);
    expect(JSON.parse(readFileSync(join(home, 'key.enc'), 'utf8'))).toMatchObject({ kdf: { name: 'keyring' } });
    const account = dataKeyAccount(join(home, 'key.enc'));
    const dataKey = keyring.get(KEYRING_SERVICE, account);
    expect(dataKey).not.toBeNull();
    expect((await cli(['key', 'get', '--store', 'file'], { keyring, home })).stdout).toBe(`${key}\n`);

    const rotate = await cli(['key', 'rotate'], { keyring, home });
    expect(rotate.code).toBe(EXIT.ok);
    expect(keyring.get(KEYRING_SERVICE, account)).not.toBe(dataKey);
    expect((await cli(['key', 'get'], { keyring, home })).stdout).toBe(`${key}\n`);

    const del = await cli(['key', 'delete'], { keyring, home });
    expect(del.code).toBe(EXIT.ok);
    expect(existsSync(join(home, 'key.enc'))).toBe(false);
    expect(keyring.get(KEYRING_SERVICE, account)).toBeNull();
  });

  it('--store keyring fails with exit 3 when no keyring is usable', async () => {
    const home = tempDir();
    const broken: KeyringBackend = {
      get: () => {
        throw new Error('no secret service');
      },
      set: () => undefined,
      delete: () => false,
    };
    const run = await cli(['key', 'set', '--store', 'keyring'], { stdin: fakeKey(), keyring: broken, home });
    expect(run.code).toBe(EXIT.keyStore);
    expect(run.stderr).toContain('keyring is not available');
  });
});

describe('CLI in process: safety', () => {
  it('refuses to print the raw key to a terminal, but prints it masked', async () => {
    const home = tempDir();
    const key = fakeKey('tty1');
    const env = { ANTHROPIC_API_KEY: key };
    const raw = await cli(['key', 'get'], { env, stdoutIsTTY: true, home });
    expect(raw.code).toBe(EXIT.usage);
    expectNoSecrets(raw, [key]);
    const masked = await cli(['key', 'get', '--masked'], { env, stdoutIsTTY: true, home });
    expect(masked).toMatchObject({ code: 0, stdout: 'sk-ant-…tty1\n' });
    expect(masked.stderr).toContain('ANTHROPIC_API_KEY');
  });

  it('never echoes a key passed as an argument or as an unknown option', async () => {
    const home = tempDir();
    const key = fakeKey();
    for (const args of [['key', 'set', key], ['key', 'set', `--${key}`], ['key', 'set', `--key=${key}`], ['key', 'rotate', key]]) {
      const run = await cli(args, { home });
      expect(run.code).toBe(EXIT.usage);
      expectNoSecrets(run, [key, key.slice(7)]);
    }
  });

  it('rejects empty input, bad --store values and misplaced flags with exit 2', async () => {
    const home = tempDir();
    expect((await cli(['key', 'set'], { stdin: '\n', home })).code).toBe(EXIT.usage);
    expect((await cli(['key', 'set', '--store', 'cloud'], { stdin: fakeKey(), home })).code).toBe(EXIT.usage);
    expect((await cli(['key', 'set', '--masked'], { stdin: fakeKey(), home })).code).toBe(EXIT.usage);
    expect((await cli(['key', 'get', '--new-key'], { home })).code).toBe(EXIT.usage);
    expect((await cli(['key', 'frobnicate'], { home })).code).toBe(EXIT.usage);
    expect((await cli(['config', 'set'], { home })).code).toBe(EXIT.usage);
    expect((await cli([], { home })).code).toBe(EXIT.usage);
  });

  it('warns about (but stores) something that does not look like an Anthropic key', async () => {
    const home = tempDir();
    const keyring = createMemoryKeyring();
    const run = await cli(['key', 'set'], { stdin: `other_${'z'.repeat(30)}`, keyring, home });
    expect(run.code).toBe(EXIT.ok);
    expect(run.stderr).toContain('does not look like an Anthropic API key');
  });

  it('prints help with exit 0', async () => {
    const run = await cli(['--help'], { home: tempDir() });
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toContain('Usage: resilient-claude key');
    expect(run.stdout).toContain('Exit codes');
  });
});

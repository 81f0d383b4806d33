// The real `resilient-claude` bin run through tsx (`tsx src/cli.ts …`, the binary `npx tsx` resolves
// to, spawned directly to skip npm's ~0.6 s start-up per call) over a temporary HOME, key on stdin.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeKey, tempDir } from '../../src/security/test-helpers';

const ROOT = resolve(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'tsx.cmd' : 'tsx');
const posix = process.platform !== 'win32';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Every secret any test used: none may ever appear in any output. */
const secretsSeen = new Set<string>();

function run(args: string[], home: string, options: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
  for (const value of Object.values(options.env ?? {})) if (/PASS|sk-ant/.test(value)) secretsSeen.add(value);
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: home,
    USERPROFILE: home,
    RESILIENT_CLAUDE_KEYRING: 'off', // deterministic even where @napi-rs/keyring is installed
    ...options.env,
  };
  return new Promise((done, fail) => {
    const child = spawn(TSX, ['src/cli.ts', ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      const result = { code, stdout, stderr };
      done(result);
    });
    child.stdin.end(options.stdin ?? '');
  });
}

function expectClean(result: Run, secrets: Iterable<string>, allowStdout?: string): void {
  for (const secret of secrets) {
    if (secret !== allowStdout) expect(result.stdout).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
  }
}

const keyFileOf = (home: string) => join(home, '.config', 'resilient-claude', 'key.enc');

// Each test spawns up to nine CLI processes (tsx start-up plus scrypt each): seconds apiece on a loaded
// 2-core machine, so the bound is generous.
describe('resilient-claude CLI (spawned)', { timeout: 120_000 }, () => {
  const PASS1 = 'PASS-one-correct-horse';
  const PASS2 = 'PASS-two-battery-staple';

  async function storeKey(home: string, tail: string): Promise<string> {
    const key = fakeKey(tail);
    secretsSeen.add(key);
    const set = await run(['key', 'set'], home, { stdin: `${key}\n`, env: { RESILIENT_CLAUDE_PASSPHRASE: PASS1 } });
    expect(set.code).toBe(0);
    expect(set.stderr).toContain(`sk-ant-…${tail}`);
    expectClean(set, [key, PASS1]);
    return key;
  }

  it('set (stdin) → get --masked → get (piped) → wrong / missing passphrase', async () => {
    const home = tempDir();
    const key = await storeKey(home, 'c0de');
    const file = keyFileOf(home);
    expect(readFileSync(file, 'utf8')).not.toContain(key);
    if (posix) expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(home, '.config', 'resilient-claude'))).toEqual(['key.enc']); // no temp file left

    const masked = await run(['key', 'get', '--masked'], home, { env: { RESILIENT_CLAUDE_PASSPHRASE: PASS1 } });
    expect(masked).toMatchObject({ code: 0, stdout: 'sk-ant-…c0de\n' });
    expect(masked.stderr).toContain(`key file ${file}`);
    expectClean(masked, [key, PASS1]);

    const plain = await run(['key', 'get'], home, { env: { RESILIENT_CLAUDE_PASSPHRASE: PASS1 } });
    expect(plain).toMatchObject({ code: 0, stdout: `${key}\n` }); // stdout is a pipe here
    expectClean(plain, [key, PASS1], key);

    const wrong = await run(['key', 'get', '--masked'], home, { env: { RESILIENT_CLAUDE_PASSPHRASE: PASS2 } });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('Wrong passphrase');
    expectClean(wrong, [key, PASS1, PASS2]);

    const missing = await run(['key', 'get', '--masked'], home);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('RESILIENT_CLAUDE_PASSPHRASE');
    expectClean(missing, [key]);
  });

  it('rotate --new-passphrase → rotate --new-key → delete', async () => {
    const home = tempDir();
    const key = await storeKey(home, 'c0de');
    const file = keyFileOf(home);
    const before = readFileSync(file, 'utf8');
    const rotate = await run(['key', 'rotate', '--new-passphrase'], home, {
      env: { RESILIENT_CLAUDE_PASSPHRASE: PASS1, RESILIENT_CLAUDE_NEW_PASSPHRASE: PASS2 },
    });
    expect(rotate.code).toBe(0);
    expectClean(rotate, [key, PASS1, PASS2]);
    expect(readFileSync(file, 'utf8')).not.toBe(before);
    expect((await run(['key', 'get', '--masked'], home, { env: { RESILIENT_CLAUDE_PASSPHRASE: PASS1 } })).code).toBe(3);

    const next = fakeKey('beef');
    secretsSeen.add(next);
    const replace = await run(['key', 'rotate', '--new-key'], home, { stdin: next, env: { RESILIENT_CLAUDE_PASSPHRASE: PASS2 } });
    expect(replace.code).toBe(0);
    expect(replace.stderr).toContain('sk-ant-…c0de → sk-ant-…beef');
    expectClean(replace, [key, next, PASS2]);
    expect((await run(['key', 'get'], home, { env: { RESILIENT_CLAUDE_PASSPHRASE: PASS2 } })).stdout).toBe(`${next}\n`);
    expect(readdirSync(join(home, '.config', 'resilient-claude'))).toEqual(['key.enc']);

    const del = await run(['key', 'delete'], home);
    expect(del.code).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect((await run(['key', 'delete'], home)).code).toBe(1);
    expect((await run(['key', 'get', '--masked'], home)).code).toBe(1);
  });

  it.runIf(posix)('refuses a group/world-readable key file with exit 3 and the chmod fix', async () => {
    const home = tempDir();
    const key = fakeKey();
    secretsSeen.add(key);
    const env = { RESILIENT_CLAUDE_PASSPHRASE: 'PASS-perm-test' };
    expect((await run(['key', 'set'], home, { stdin: key, env })).code).toBe(0);
    chmodSync(keyFileOf(home), 0o644);
    const result = await run(['key', 'get', '--masked'], home, { env });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`chmod 600 ${keyFileOf(home)}`);
    expectClean(result, [key, 'PASS-perm-test']);
  });

  it('needs a passphrase to create a key file when stdin is not a terminal and no keyring is usable', async () => {
    const home = tempDir();
    const key = fakeKey();
    secretsSeen.add(key);
    const result = await run(['key', 'set'], home, { stdin: key });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('RESILIENT_CLAUDE_PASSPHRASE');
    expect(existsSync(keyFileOf(home))).toBe(false);
    expectClean(result, [key]);
  });

  it('reports ANTHROPIC_API_KEY as the source when set, and honours RESILIENT_CLAUDE_KEY_FILE', async () => {
    const home = tempDir();
    const key = fakeKey('e1e1');
    secretsSeen.add(key);
    const fromEnv = await run(['key', 'get', '--masked'], home, { env: { ANTHROPIC_API_KEY: key } });
    expect(fromEnv).toMatchObject({ code: 0, stdout: 'sk-ant-…e1e1\n' });
    expect(fromEnv.stderr).toContain('ANTHROPIC_API_KEY');

    const custom = join(home, 'elsewhere', 'my.key');
    const env = { RESILIENT_CLAUDE_KEY_FILE: custom, RESILIENT_CLAUDE_PASSPHRASE: 'PASS-custom-path' };
    expect((await run(['key', 'set'], home, { stdin: key, env })).code).toBe(0);
    expect(existsSync(custom)).toBe(true);
    expect((await run(['key', 'get', '--masked'], home, { env })).stdout).toBe('sk-ant-…e1e1\n');
  });

  it('refuses a key given as an argument, without echoing it', async () => {
    const home = tempDir();
    const key = fakeKey();
    secretsSeen.add(key);
    const result = await run(['key', 'set', key], home);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('stdin');
    expectClean(result, [key]);
  });

  it('prints --help with exit 0', async () => {
    const result = await run(['--help'], tempDir());
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('key set');
    expect(result.stdout).toContain('Exit codes');
    expectClean(result, secretsSeen);
  });
});

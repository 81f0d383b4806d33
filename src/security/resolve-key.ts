import {
  assertKeyFileSecrets,
  decryptKeyFile,
  decryptKeyFileSync,
  defaultKeyFilePath,
  inspectKeyFileSync,
  PASSPHRASE_ENV,
  type KeyFileHandle,
} from './key-file';
import {
  KEYRING_API_KEY_ACCOUNT,
  KEYRING_SERVICE,
  keyringDisabledByEnv,
  loadOsKeyring,
  type KeyringBackend,
} from './keyring';

/** Where a resolved API key came from. */
export type ApiKeySource = 'option' | 'env' | 'keyring' | 'file';

/** An API key and its source. */
export interface ResolvedApiKey {
  /** The key itself. Never log it; use `maskKey`. */
  key: string;
  /** Which link of the chain supplied it. */
  source: ApiKeySource;
}

/** Options of the key resolvers. Every field is optional; the defaults are the documented chain. */
export interface ResolveApiKeyOptions {
  /** An explicit key: wins over everything when a non-empty string. */
  apiKey?: string | null | undefined;
  /** Environment to read (`ANTHROPIC_API_KEY`, `RESILIENT_CLAUDE_*`). Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Keyring backend. Default: the OS keyring through the optional peer `@napi-rs/keyring` when it
   * is installed and `RESILIENT_CLAUDE_KEYRING` is not `off`. `false` skips the keyring.
   */
  keyring?: KeyringBackend | false | undefined;
  /** Keyring service. Default `'resilient-claude'`. */
  keyringService?: string;
  /** Keyring account of the API key. Default `'anthropic-api-key'`. */
  keyringAccount?: string;
  /**
   * Encrypted key file. Default: `$RESILIENT_CLAUDE_KEY_FILE`, else
   * `~/.config/resilient-claude/key.enc`. `false` skips the file.
   */
  keyFile?: string | false;
  /** Passphrase of the key file. Default: `$RESILIENT_CLAUDE_PASSPHRASE`. */
  passphrase?: string | undefined;
  /**
   * Called when the keyring is present but fails (e.g. no Secret Service on Linux); the chain then
   * continues with the file. The error comes from the keyring binding and carries no secret.
   */
  onKeyringError?: (error: unknown) => void;
}

/**
 * A key found without paying for decryption yet: see {@link resolveApiKeyLazily}.
 */
export interface LazyApiKey {
  /** Which link of the chain supplies the key. */
  readonly source: ApiKeySource;
  /** The key when it is already known (every source but a passphrase-protected file); else `undefined`. */
  readonly key: string | undefined;
  /**
   * Resolves the key, decrypting the file on first call (scrypt on the thread pool). The result,
   * success or failure, is cached: a wrong passphrase fails every call fast instead of re-running
   * scrypt on every request attempt.
   */
  getKey(): Promise<string>;
}

interface Chain {
  env: Readonly<Record<string, string | undefined>>;
  /** The keyring, loaded on first use (no native module is loaded when an option or env key wins). */
  keyring(): KeyringBackend | null;
  service: string;
  account: string;
  keyFile: string | false;
  passphrase: string | undefined;
  onKeyringError: ((error: unknown) => void) | undefined;
}

function chainOf(options: ResolveApiKeyOptions): Chain {
  const env = options.env ?? process.env;
  const given = options.keyring;
  return {
    env,
    keyring: () => (given === false ? null : (given ?? (keyringDisabledByEnv(env) ? null : loadOsKeyring()))),
    service: options.keyringService ?? KEYRING_SERVICE,
    account: options.keyringAccount ?? KEYRING_API_KEY_ACCOUNT,
    keyFile: options.keyFile === false ? false : (options.keyFile ?? defaultKeyFilePath(env)),
    passphrase: options.passphrase ?? (env[PASSPHRASE_ENV] || undefined),
    onKeyringError: options.onKeyringError,
  };
}

function nonEmpty(value: string | null | undefined): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** Option, env and keyring: the cheap, synchronous links. */
function resolveCheap(options: ResolveApiKeyOptions, chain: Chain): ResolvedApiKey | null {
  const option = nonEmpty(options.apiKey);
  if (option) return { key: option, source: 'option' };
  const env = nonEmpty(chain.env['ANTHROPIC_API_KEY']);
  if (env) return { key: env, source: 'env' };
  const keyring = chain.keyring();
  if (keyring) {
    try {
      const stored = nonEmpty(keyring.get(chain.service, chain.account));
      if (stored) return { key: stored, source: 'keyring' };
    } catch (error) {
      chain.onKeyringError?.(error);
    }
  }
  return null;
}

function inspectFile(chain: Chain): KeyFileHandle | null {
  return chain.keyFile === false ? null : inspectKeyFileSync(chain.keyFile);
}

function secretsOf(chain: Chain) {
  return { passphrase: chain.passphrase, keyring: chain.keyring() };
}

/**
 * Resolves the Anthropic API key synchronously, first match wins:
 * 1. `options.apiKey`;
 * 2. `ANTHROPIC_API_KEY`;
 * 3. the OS keyring (`resilient-claude` / `anthropic-api-key`), skipped when absent or failing;
 * 4. the encrypted key file (`~/.config/resilient-claude/key.enc`), decrypted with scrypt here, on
 *    this thread (~0.2–0.5 s with default parameters: prefer {@link resolveApiKeyLazily} in a
 *    constructor).
 *
 * Returns `null` when no source has a key (a missing key file is not an error).
 *
 * @throws KeyStoreError when the key file exists but cannot be used (insecure permissions, no or
 *   wrong passphrase, tampered, malformed). A misconfigured file is reported, never silently skipped.
 */
export function resolveApiKeySync(options: ResolveApiKeyOptions = {}): ResolvedApiKey | null {
  const chain = chainOf(options);
  const cheap = resolveCheap(options, chain);
  if (cheap) return cheap;
  const handle = inspectFile(chain);
  return handle ? { key: decryptKeyFileSync(handle, secretsOf(chain)), source: 'file' } : null;
}

/**
 * Same chain as {@link resolveApiKeySync}, with the key-file decryption on libuv's thread pool.
 */
export async function resolveApiKey(options: ResolveApiKeyOptions = {}): Promise<ResolvedApiKey | null> {
  const chain = chainOf(options);
  const cheap = resolveCheap(options, chain);
  if (cheap) return cheap;
  const handle = inspectFile(chain);
  return handle ? { key: await decryptKeyFile(handle, secretsOf(chain)), source: 'file' } : null;
}

/**
 * Synchronously finds *which* source has the key, doing everything cheap now and deferring only the
 * expensive part, scrypt, to the first `getKey()` call. Meant for a synchronous constructor:
 *
 * ```ts
 * const found = resolveApiKeyLazily(opts);
 * const apiKey = found ? (found.key ?? found.getKey) : undefined; // string, or SDK `apiKey` function
 * ```
 *
 * For a key file, the file is opened, permission-checked and parsed now, and the passphrase's
 * presence checked, so configuration mistakes throw here, at construction; only a wrong passphrase
 * or a tampered file surfaces later, from `getKey()`.
 *
 * @throws KeyStoreError as {@link resolveApiKeySync}, except decryption failures.
 */
export function resolveApiKeyLazily(options: ResolveApiKeyOptions = {}): LazyApiKey | null {
  const chain = chainOf(options);
  const cheap = resolveCheap(options, chain);
  if (cheap) {
    const ready = Promise.resolve(cheap.key);
    return { source: cheap.source, key: cheap.key, getKey: () => ready };
  }
  const handle = inspectFile(chain);
  if (!handle) return null;
  const secrets = secretsOf(chain);
  if (handle.contents.kdf.name === 'keyring') {
    // No KDF to defer: the data key comes straight from the keyring.
    const key = decryptKeyFileSync(handle, secrets);
    const ready = Promise.resolve(key);
    return { source: 'file', key, getKey: () => ready };
  }
  assertKeyFileSecrets(handle, secrets);
  let pending: Promise<string> | undefined;
  return {
    source: 'file',
    key: undefined,
    getKey: () => (pending ??= decryptKeyFile(handle, secrets)),
  };
}

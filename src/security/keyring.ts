import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

/**
 * A synchronous secret store keyed by (service, account): the OS keyring in production
 * ({@link loadOsKeyring}), an in-memory fake in tests ({@link createMemoryKeyring}), or anything else
 * with the same three methods. Methods may throw when the backing store is unusable (e.g. no Secret
 * Service on a headless Linux box); the key resolver then skips the keyring.
 */
export interface KeyringBackend {
  /** The stored secret, or `null` when there is no entry. */
  get(service: string, account: string): string | null;
  /** Stores (or replaces) a secret. */
  set(service: string, account: string, secret: string): void;
  /** Removes an entry; `true` when there was one. */
  delete(service: string, account: string): boolean;
}

/** Keyring service name used for everything this library stores. */
export const KEYRING_SERVICE = 'resilient-claude';
/** Keyring account holding the Anthropic API key itself. */
export const KEYRING_API_KEY_ACCOUNT = 'anthropic-api-key';
/**
 * Prefix of the keyring account holding the random data key of a keyring-protected key file (no
 * passphrase); the full account is `key-file-data-key:<absolute path of the file>`.
 */
export const KEYRING_DATA_KEY_ACCOUNT = 'key-file-data-key';

/** The part of `@napi-rs/keyring`'s API this adapter uses. */
export interface NapiKeyringModule {
  /** `new Entry(service, account)` */
  Entry: new (
    service: string,
    account: string,
  ) => {
    getPassword(): string | null | undefined;
    setPassword(password: string): void;
    deletePassword(): boolean | void;
  };
}

const NO_ENTRY = /no (matching )?entry|not found|no such/i;

/**
 * Adapts the `@napi-rs/keyring` module (optional peer dependency) to {@link KeyringBackend}. Use it
 * directly when you import the module yourself, e.g. in a bundled app where automatic loading cannot
 * find it: `napiKeyring(await import('@napi-rs/keyring'))`.
 */
export function napiKeyring(mod: NapiKeyringModule): KeyringBackend {
  return {
    get(service, account) {
      try {
        return new mod.Entry(service, account).getPassword() ?? null;
      } catch (error) {
        // Older versions throw for a missing entry instead of returning null.
        if (error instanceof Error && NO_ENTRY.test(error.message)) return null;
        throw error;
      }
    },
    set(service, account, secret) {
      new mod.Entry(service, account).setPassword(secret);
    },
    delete(service, account) {
      try {
        return new mod.Entry(service, account).deletePassword() !== false;
      } catch (error) {
        if (error instanceof Error && NO_ENTRY.test(error.message)) return false;
        throw error;
      }
    },
  };
}

/** Environment variable that turns the OS keyring off when set to `off`, `0`, `false` or `no`. */
export const KEYRING_ENV = 'RESILIENT_CLAUDE_KEYRING';

/** True when `RESILIENT_CLAUDE_KEYRING` disables the OS keyring. */
export function keyringDisabledByEnv(env: Readonly<Record<string, string | undefined>>): boolean {
  const value = env[KEYRING_ENV]?.trim().toLowerCase();
  return value === 'off' || value === '0' || value === 'false' || value === 'no';
}

/**
 * Where to resolve the optional `@napi-rs/keyring` from, in order. The package is one dual build
 * (ESM + CJS), and neither `import.meta.url` (empty in the CJS output) nor `__filename` (absent in the
 * ESM output) exists in both, so:
 * 1. `__filename` when it exists (the CJS build, tsx): resolves next to this library, where npm puts
 *    peer dependencies;
 * 2. the application's entry script (`process.argv[1]`), which works for the ESM build;
 * 3. the working directory, for REPLs and `node -e`.
 */
function resolutionBases(): string[] {
  const bases: string[] = [];
  if (typeof __filename === 'string' && __filename) bases.push(__filename);
  const main = process.argv[1];
  if (main) bases.push(resolve(main));
  bases.push(join(process.cwd(), 'noop.js'));
  return bases;
}

function requireOptional(id: string): unknown {
  for (const base of resolutionBases()) {
    try {
      return createRequire(base)(id);
    } catch {
      // not resolvable from here (or failed to load its native binding): try the next base
    }
  }
  return undefined;
}

function isNapiKeyringModule(value: unknown): value is NapiKeyringModule {
  return typeof value === 'object' && value !== null && typeof (value as { Entry?: unknown }).Entry === 'function';
}

let cachedOsKeyring: KeyringBackend | null | undefined;

/**
 * The OS keyring through the optional peer `@napi-rs/keyring`, loaded synchronously on first use and
 * cached; `null` when the package is not installed or its native binding does not load. Never
 * throws. A loaded keyring can still fail per call (no Secret Service on Linux): callers treat a
 * throwing backend as "no keyring".
 *
 * @param load - module loader, for tests; defaults to a `createRequire`-based lookup (see the
 *   resolution order above). Passing it bypasses the cache.
 */
export function loadOsKeyring(load?: (id: string) => unknown): KeyringBackend | null {
  if (!load && cachedOsKeyring !== undefined) return cachedOsKeyring;
  let mod: unknown;
  try {
    mod = (load ?? requireOptional)('@napi-rs/keyring');
  } catch {
    mod = undefined;
  }
  const backend = isNapiKeyringModule(mod) ? napiKeyring(mod) : null;
  if (!load) cachedOsKeyring = backend;
  return backend;
}

/**
 * An in-memory {@link KeyringBackend}, for tests and for processes that must not touch the OS
 * keyring. Pass `initial` entries as `{ 'service/account': secret }`.
 */
export function createMemoryKeyring(initial: Readonly<Record<string, string>> = {}): KeyringBackend {
  const entries = new Map<string, string>(Object.entries(initial));
  const id = (service: string, account: string) => `${service}/${account}`;
  return {
    get: (service, account) => entries.get(id(service, account)) ?? null,
    set: (service, account, secret) => void entries.set(id(service, account), secret),
    delete: (service, account) => entries.delete(id(service, account)),
  };
}

import type { ApiKeyInput } from '../keys';
import type { ResilientClaudeOptions } from '../options';
import { resolveApiKeyLazily } from '../security';

const CREDENTIAL_OPTIONS = ['apiKey', 'authToken', 'credentials', 'config', 'profile'] as const;
const CREDENTIAL_ENV = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'ANTHROPIC_PROFILE',
  'ANTHROPIC_IDENTITY_TOKEN',
  'ANTHROPIC_IDENTITY_TOKEN_FILE',
] as const;

/** Whether the caller or the environment supplies a credential the SDK will use (ours must not interfere). */
function hasCredential(options: ResilientClaudeOptions): boolean {
  const given = options as Record<string, unknown>;
  return CREDENTIAL_OPTIONS.some((name) => name in given) || CREDENTIAL_ENV.some((name) => !!process.env[name]);
}

/**
 * The key from the OS keyring or the encrypted key file, if either holds one: the key itself, or (for a
 * passphrase-protected file) an async function the SDK calls per request, which decrypts once.
 */
function storedKey(store: { keyFile?: string | false; keyring?: boolean }): string | (() => Promise<string>) | undefined {
  const found = resolveApiKeyLazily({
    ...(store.keyFile !== undefined ? { keyFile: store.keyFile } : {}),
    ...(store.keyring === false ? { keyring: false } : {}),
  });
  if (!found || (found.source !== 'keyring' && found.source !== 'file')) return undefined;
  return found.key ?? found.getKey;
}

/** The text of the first pooled key, if any. */
function firstKey(keys: readonly ApiKeyInput[] | undefined): string | undefined {
  const first = keys?.[0];
  if (first === undefined) return undefined;
  return typeof first === 'string' ? first : first.key;
}

/**
 * The credential to hand the SDK when the options name none, or undefined to leave the SDK's own
 * resolution alone. With a key pool the keys layer sets each attempt's key, but the SDK still needs a
 * credential to build requests: it gets the first key. Without one, and with no credential in the
 * options or the environment, the stored key (keyring, key file) is used.
 */
export function fallbackApiKey(options: ResilientClaudeOptions, inherited: boolean): string | (() => Promise<string>) | undefined {
  if (inherited) return undefined;
  const pooled = firstKey(options.apiKeys);
  if (pooled !== undefined && options.apiKey == null && options.authToken == null) return pooled;
  if (options.keyStore !== false && !hasCredential(options)) return storedKey(options.keyStore || {});
  return undefined;
}

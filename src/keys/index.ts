/**
 * The API-key pool behind the `apiKeys` option: key selection strategies, in-flight accounting and
 * quarantine of keys that fail authentication. The `keys` middleware layer (`src/layers/keys.ts`) uses
 * it per HTTP attempt.
 *
 * @module
 */
export { KeyPool, PooledKey, validateKeyPoolOptions, type PickOptions, type QuarantineOptions } from './key-pool';
export { pickLeastLoaded, pickRandom, pickRoundRobin, seededRandom, type KeySlot } from './strategies';
export {
  DEFAULT_QUARANTINE_MS,
  type ApiKeyEntry,
  type ApiKeyInput,
  type ApiKeysOptions,
  type KeyCapacitySource,
  type KeyPoolOptions,
  type KeyQuarantinedEvent,
  type KeySnapshot,
  type KeyStrategy,
} from './types';
export { NoUsableKeyError, type UnusableKey } from '../errors/no-usable-key-error';

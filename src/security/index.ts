/**
 * API-key storage and resolution: the resolver chain (option → env → OS keyring → encrypted key
 * file), the key file, the keyring adapter and key masking. The CLI lives in `./cli-main`.
 *
 * @packageDocumentation
 */
export { maskKey, FULL_MASK } from './mask';
export {
  createMemoryKeyring,
  KEYRING_API_KEY_ACCOUNT,
  KEYRING_DATA_KEY_ACCOUNT,
  KEYRING_ENV,
  KEYRING_SERVICE,
  loadOsKeyring,
  napiKeyring,
  type KeyringBackend,
  type NapiKeyringModule,
} from './keyring';
export {
  dataKeyAccount,
  DEFAULT_SCRYPT_PARAMS,
  defaultKeyFilePath,
  deleteKeyFile,
  KEY_FILE_ENV,
  KEY_FILE_FORMAT,
  KEY_FILE_VERSION,
  PASSPHRASE_ENV,
  readKeyFile,
  readKeyFileSync,
  writeKeyFile,
  type KeyFileContents,
  type KeyFileProtection,
  type KeyFileSecrets,
  type ScryptParams,
} from './key-file';
export {
  resolveApiKey,
  resolveApiKeyLazily,
  resolveApiKeySync,
  type ApiKeySource,
  type LazyApiKey,
  type ResolveApiKeyOptions,
  type ResolvedApiKey,
} from './resolve-key';

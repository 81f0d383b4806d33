import { ResilientClaudeError } from './resilient-claude-error';

/**
 * Why a key-store operation failed.
 *
 * - `insecure_permissions`: the key file is readable or writable by group/others (fix: `chmod 600`).
 * - `passphrase_required`: the key file is passphrase-protected and no passphrase was given.
 * - `wrong_passphrase`: the passphrase does not open the key file.
 * - `data_key_mismatch`: the key file is protected by a data key in the OS keyring, and the keyring's
 *   data key does not open it (it was replaced or deleted).
 * - `tampered`: the passphrase is right but the ciphertext or its header fails authentication.
 * - `malformed`: the file is not a key file this version understands.
 * - `keyring_unavailable`: the OS keyring is needed but cannot be used.
 * - `invalid_key`: the key to store is empty or contains whitespace/control characters.
 * - `io`: a file-system operation failed (the message names the file and the error code).
 */
export type KeyStoreErrorReason =
  | 'insecure_permissions'
  | 'passphrase_required'
  | 'wrong_passphrase'
  | 'data_key_mismatch'
  | 'tampered'
  | 'malformed'
  | 'keyring_unavailable'
  | 'invalid_key'
  | 'io';

/**
 * Storing, finding or decrypting the API key failed. The message names the file (when there is one)
 * and the fix; it never contains the key, the passphrase or any decrypted material.
 */
export class KeyStoreError extends ResilientClaudeError {
  /** Machine-readable cause; see {@link KeyStoreErrorReason}. */
  readonly reason: KeyStoreErrorReason;
  /** The key file concerned, when the failure is about a file. */
  readonly file: string | undefined;

  constructor(reason: KeyStoreErrorReason, message: string, file?: string) {
    super('KEY_STORE', message);
    this.reason = reason;
    this.file = file;
  }
}

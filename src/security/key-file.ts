import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  scrypt,
  scryptSync,
  timingSafeEqual,
  type ScryptOptions,
} from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { KeyStoreError } from '../errors/key-store-error';
import { KEYRING_DATA_KEY_ACCOUNT, KEYRING_SERVICE, type KeyringBackend } from './keyring';

/** Value of the `format` field that identifies a key file. */
export const KEY_FILE_FORMAT = 'resilient-claude/key-file';
/** The key-file format version this library writes (and the newest it reads). */
export const KEY_FILE_VERSION = 1;
/** Environment variable overriding the key file's location. */
export const KEY_FILE_ENV = 'RESILIENT_CLAUDE_KEY_FILE';
/** Environment variable holding the key file's passphrase. */
export const PASSPHRASE_ENV = 'RESILIENT_CLAUDE_PASSPHRASE';

/** scrypt cost parameters: CPU/memory cost `N` (a power of two), block size `r`, parallelism `p`. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * Default scrypt parameters for new key files: N = 2^17, r = 8, p = 1 (128 MiB, about 0.2–0.5 s on a
 * current CPU; the OWASP recommendation). Files record their own parameters, so changing this
 * default never breaks existing files.
 */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

/** Accepted bounds, for writing and reading (a hostile file must not make us allocate gigabytes). */
const SCRYPT_MIN_N = 2 ** 14;
const SCRYPT_MAX_N = 2 ** 20;
const SCRYPT_MAX_MEMORY = 2 ** 30;
const MAX_FILE_BYTES = 64 * 1024;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const CHECK_BYTES = 16;
const KEY_BYTES = 32;
const MAX_API_KEY_LENGTH = 1024;

/**
 * How a key file's contents are encrypted.
 * - `{ passphrase }`: AES-256-GCM under a key derived with scrypt from the passphrase and a random
 *   salt (parameters: {@link DEFAULT_SCRYPT_PARAMS}, overridable for tests or slow machines).
 * - `{ keyring }`: AES-256-GCM under a random 256-bit data key kept in the OS keyring (service
 *   `resilient-claude`, account {@link dataKeyAccount}`(file)` by default). No passphrase; the file
 *   is useless without that keyring entry. A new data key is generated on every write.
 */
export type KeyFileProtection =
  | { passphrase: string; scrypt?: Partial<ScryptParams> }
  | { keyring: KeyringBackend; service?: string; account?: string };

/** What can open a key file: the passphrase (scrypt files) and/or a keyring (data-key files). */
export interface KeyFileSecrets {
  /** Passphrase for scrypt-protected files. */
  passphrase?: string | undefined;
  /** Keyring holding the data key of keyring-protected files. */
  keyring?: KeyringBackend | null | undefined;
}

/**
 * Default key file location: `$RESILIENT_CLAUDE_KEY_FILE` when set, else
 * `~/.config/resilient-claude/key.enc`.
 */
export function defaultKeyFilePath(
  env: Readonly<Record<string, string | undefined>> = process.env,
  home: string = homedir(),
): string {
  const fromEnv = env[KEY_FILE_ENV];
  return fromEnv ? fromEnv : join(home, '.config', 'resilient-claude', 'key.enc');
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const scryptKdfSchema = z.object({
  name: z.literal('scrypt'),
  N: z.number().int(),
  r: z.number().int(),
  p: z.number().int(),
  salt: base64,
});
const keyringKdfSchema = z.object({
  name: z.literal('keyring'),
  service: z.string().min(1),
  account: z.string().min(1),
});
const keyFileSchema = z.object({
  format: z.literal(KEY_FILE_FORMAT),
  version: z.literal(KEY_FILE_VERSION),
  kdf: z.discriminatedUnion('name', [scryptKdfSchema, keyringKdfSchema]),
  cipher: z.literal('aes-256-gcm'),
  iv: base64,
  check: base64,
  tag: base64,
  ciphertext: base64,
});

/**
 * The on-disk format (JSON, binary fields base64):
 * ```json
 * { "format": "resilient-claude/key-file", "version": 1,
 *   "kdf": { "name": "scrypt", "N": 131072, "r": 8, "p": 1, "salt": "…" }
 *        | { "name": "keyring", "service": "resilient-claude", "account": "key-file-data-key:/path" },
 *   "cipher": "aes-256-gcm", "iv": "…(12 bytes)", "check": "…(16 bytes)", "tag": "…(16 bytes)",
 *   "ciphertext": "…" }
 * ```
 * The 32-byte master key (scrypt output or keyring data key) is split with HKDF-SHA256 into an
 * encryption key and a check key. `check` = HMAC-SHA256(check key, header)[0..16] tells a wrong
 * passphrase from a modified file; the header (format, version, cipher, kdf) is also the GCM
 * additional data, so editing any of it fails authentication.
 */
export type KeyFileContents = z.infer<typeof keyFileSchema>;

/** A key file that was opened, permission-checked and parsed, but not decrypted. */
export interface KeyFileHandle {
  /** Path of the file. */
  readonly file: string;
  /** Its parsed contents. */
  readonly contents: KeyFileContents;
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error';
}

function checkScryptParams(params: ScryptParams, file: string | undefined): void {
  const { N, r, p } = params;
  const ok =
    Number.isInteger(N) &&
    Number.isInteger(r) &&
    Number.isInteger(p) &&
    N >= SCRYPT_MIN_N &&
    N <= SCRYPT_MAX_N &&
    (N & (N - 1)) === 0 &&
    r >= 1 &&
    r <= 32 &&
    p >= 1 &&
    p <= 16 &&
    128 * N * r <= SCRYPT_MAX_MEMORY;
  if (!ok) {
    throw new KeyStoreError(
      'malformed',
      `Unsupported scrypt parameters N=${N}, r=${r}, p=${p}` +
        `${file ? ` in key file ${file}` : ''}: N must be a power of two in [2^14, 2^20], r in [1, 32], ` +
        `p in [1, 16], 128·N·r at most 1 GiB.`,
      file,
    );
  }
}

function scryptOptions({ N, r, p }: ScryptParams): ScryptOptions {
  return { N, r, p, maxmem: 128 * r * (N + p + 2) + 2 ** 20 };
}

function headerOf(contents: Pick<KeyFileContents, 'format' | 'version' | 'cipher' | 'kdf'>): Buffer {
  const kdf = contents.kdf;
  const kdfText =
    kdf.name === 'scrypt' ? `scrypt:${kdf.N}:${kdf.r}:${kdf.p}:${kdf.salt}` : `keyring:${kdf.service}:${kdf.account}`;
  return Buffer.from(`${contents.format}\n${contents.version}\n${contents.cipher}\n${kdfText}`, 'utf8');
}

function splitMasterKey(master: Buffer): { encKey: Buffer; checkKey: Buffer } {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, KEY_BYTES));
  return { encKey: derive('resilient-claude key-file enc'), checkKey: derive('resilient-claude key-file check') };
}

function checkValue(checkKey: Buffer, header: Buffer): Buffer {
  return createHmac('sha256', checkKey).update(header).digest().subarray(0, CHECK_BYTES);
}

function normalizePassphrase(passphrase: string): Buffer {
  // NFC so the same passphrase typed on different systems derives the same key.
  return Buffer.from(passphrase.normalize('NFC'), 'utf8');
}

/** Throws `invalid_key` unless `key` looks storable: non-empty, ≤ 1024 chars, no whitespace/control chars. */
export function assertStorableApiKey(key: string): void {
  // eslint-disable-next-line no-control-regex
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_API_KEY_LENGTH || /[\s\u0000-\u001f\u007f]/.test(key)) {
    throw new KeyStoreError(
      'invalid_key',
      'The API key to store is empty, longer than 1024 characters, or contains whitespace or control characters.',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Opens `file`, refuses it when group/world-accessible (POSIX only: Windows has no mode bits),
 * and parses it. Cheap (no key derivation). Returns `null` when the file does not exist.
 *
 * @throws KeyStoreError `insecure_permissions`, `malformed` or `io`.
 */
export function inspectKeyFileSync(file: string): KeyFileHandle | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw new KeyStoreError('io', `Could not open key file ${file} (${errorCode(error)}).`, file);
  }
  let text: string;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new KeyStoreError('malformed', `Key file ${file} is not a regular file.`, file);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw new KeyStoreError(
        'insecure_permissions',
        `Key file ${file} is accessible by group or others (mode ${mode}); refusing to use it. ` +
          `Fix: chmod 600 ${file}`,
        file,
      );
    }
    if (stat.size > MAX_FILE_BYTES) throw new KeyStoreError('malformed', `Key file ${file} is too large to be a key file.`, file);
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    text = buffer.subarray(0, read).toString('utf8');
  } catch (error) {
    if (error instanceof KeyStoreError) throw error;
    throw new KeyStoreError('io', `Could not read key file ${file} (${errorCode(error)}).`, file);
  } finally {
    closeSync(fd);
  }
  return { file, contents: parseKeyFile(text, file) };
}

/**
 * Parses and validates key-file text. Error messages describe the problem, never the content.
 *
 * @throws KeyStoreError `malformed`.
 */
export function parseKeyFile(text: string, file: string): KeyFileContents {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KeyStoreError('malformed', `Key file ${file} is not valid JSON.`, file);
  }
  const version = (json as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > KEY_FILE_VERSION) {
    throw new KeyStoreError(
      'malformed',
      `Key file ${file} has format version ${version}; this version of resilient-claude reads up to ` +
        `${KEY_FILE_VERSION}. Upgrade resilient-claude.`,
      file,
    );
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.join('.') || 'top level';
    throw new KeyStoreError('malformed', `Key file ${file} is not a resilient-claude key file (bad field: ${where}).`, file);
  }
  const contents = parsed.data;
  if (contents.kdf.name === 'scrypt') checkScryptParams(contents.kdf, file);
  return contents;
}

/** The master key of a keyring-protected file, or the scrypt inputs of a passphrase-protected one. */
type MasterKeySource = { master: Buffer } | { passphrase: Buffer; salt: Buffer; params: ScryptParams };

function masterKeySource(handle: KeyFileHandle, secrets: KeyFileSecrets): MasterKeySource {
  const { file, contents } = handle;
  const kdf = contents.kdf;
  if (kdf.name === 'scrypt') {
    if (secrets.passphrase === undefined || secrets.passphrase === '') {
      throw new KeyStoreError(
        'passphrase_required',
        `Key file ${file} is passphrase-protected: set ${PASSPHRASE_ENV} (or pass the passphrase option).`,
        file,
      );
    }
    return { passphrase: normalizePassphrase(secrets.passphrase), salt: Buffer.from(kdf.salt, 'base64'), params: kdf };
  }
  let encoded: string | null;
  try {
    if (!secrets.keyring) throw new Error('no keyring');
    encoded = secrets.keyring.get(kdf.service, kdf.account);
  } catch {
    throw new KeyStoreError(
      'keyring_unavailable',
      `Key file ${file} is protected by a data key in the OS keyring (service "${kdf.service}", ` +
        `account "${kdf.account}"), and the keyring cannot be read here.`,
      file,
    );
  }
  const master = encoded === null ? Buffer.alloc(0) : Buffer.from(encoded, 'base64');
  if (master.length !== KEY_BYTES) {
    throw new KeyStoreError(
      'data_key_mismatch',
      `The OS keyring has no valid data key for key file ${file} (service "${kdf.service}", account ` +
        `"${kdf.account}"); store the API key again with \`resilient-claude key set\`.`,
      file,
    );
  }
  return { master };
}

/**
 * Checks, without deriving anything, that `secrets` has what `handle` needs: a passphrase for a
 * scrypt file, a readable keyring data key for a keyring file.
 *
 * @throws KeyStoreError `passphrase_required`, `keyring_unavailable` or `data_key_mismatch`.
 */
export function assertKeyFileSecrets(handle: KeyFileHandle, secrets: KeyFileSecrets): void {
  const source = masterKeySource(handle, secrets);
  if ('master' in source) source.master.fill(0);
}

function openWithMaster(handle: KeyFileHandle, master: Buffer): string {
  const { file, contents } = handle;
  const { encKey, checkKey } = splitMasterKey(master);
  master.fill(0);
  try {
    const header = headerOf(contents);
    const expected = checkValue(checkKey, header);
    const stored = Buffer.from(contents.check, 'base64');
    if (stored.length !== expected.length || !timingSafeEqual(stored, expected)) {
      if (contents.kdf.name === 'scrypt') {
        throw new KeyStoreError('wrong_passphrase', `Wrong passphrase for key file ${file}.`, file);
      }
      throw new KeyStoreError(
        'data_key_mismatch',
        `The data key in the OS keyring does not open key file ${file}; store the API key again with ` +
          '`resilient-claude key set`.',
        file,
      );
    }
    const iv = Buffer.from(contents.iv, 'base64');
    const tag = Buffer.from(contents.tag, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new KeyStoreError('tampered', `Key file ${file} has been modified or corrupted (bad iv/tag length).`, file);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', encKey, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(header);
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(Buffer.from(contents.ciphertext, 'base64')), decipher.final()]);
      const key = plain.toString('utf8');
      plain.fill(0);
      return key;
    } catch {
      throw new KeyStoreError(
        'tampered',
        `Key file ${file} has been modified or corrupted: its contents fail authentication. ` +
          'Store the API key again with `resilient-claude key set`.',
        file,
      );
    }
  } finally {
    encKey.fill(0);
    checkKey.fill(0);
  }
}

/**
 * Decrypts an inspected key file synchronously (scrypt blocks the thread for the configured cost,
 * ~0.2–0.5 s with the defaults; keyring-protected files decrypt instantly).
 *
 * @throws KeyStoreError `passphrase_required`, `wrong_passphrase`, `data_key_mismatch`,
 *   `keyring_unavailable` or `tampered`.
 */
export function decryptKeyFileSync(handle: KeyFileHandle, secrets: KeyFileSecrets): string {
  const source = masterKeySource(handle, secrets);
  const master =
    'master' in source ? source.master : scryptSync(source.passphrase, source.salt, KEY_BYTES, scryptOptions(source.params));
  return openWithMaster(handle, master);
}

/** Like {@link decryptKeyFileSync}, but runs scrypt on libuv's thread pool. */
export async function decryptKeyFile(handle: KeyFileHandle, secrets: KeyFileSecrets): Promise<string> {
  const source = masterKeySource(handle, secrets);
  const master = 'master' in source ? source.master : await scryptAsync(source.passphrase, source.salt, source.params);
  return openWithMaster(handle, master);
}

function scryptAsync(passphrase: Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(passphrase, salt, KEY_BYTES, scryptOptions(params), (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/**
 * Reads and decrypts `file` synchronously; `null` when it does not exist.
 *
 * @throws KeyStoreError on insecure permissions, a malformed/tampered file or wrong secrets.
 */
export function readKeyFileSync(file: string, secrets: KeyFileSecrets): string | null {
  const handle = inspectKeyFileSync(file);
  return handle ? decryptKeyFileSync(handle, secrets) : null;
}

/** Like {@link readKeyFileSync}, with the key derivation off the main thread. */
export async function readKeyFile(file: string, secrets: KeyFileSecrets): Promise<string | null> {
  const handle = inspectKeyFileSync(file);
  return handle ? decryptKeyFile(handle, secrets) : null;
}

// ---------------------------------------------------------------------------------------------
// Writing

function seal(apiKey: string, master: Buffer, kdf: KeyFileContents['kdf']): KeyFileContents {
  const { encKey, checkKey } = splitMasterKey(master);
  master.fill(0);
  try {
    const head = { format: KEY_FILE_FORMAT, version: KEY_FILE_VERSION, cipher: 'aes-256-gcm', kdf } as const;
    const header = headerOf(head);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', encKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(header);
    const plain = Buffer.from(apiKey, 'utf8');
    const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
    plain.fill(0);
    return {
      ...head,
      iv: iv.toString('base64'),
      check: checkValue(checkKey, header).toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ciphertext: ciphertext.toString('base64'),
    };
  } finally {
    encKey.fill(0);
    checkKey.fill(0);
  }
}

/**
 * Writes `data` to `file` atomically: creates the directory (mode 0700) when missing, writes a
 * temporary file beside the target with mode 0600 (`O_EXCL`), fsyncs it, runs `beforeCommit`, and
 * renames it over the target. On any failure the temporary file is removed and the target is left
 * as it was.
 */
function writeFileAtomicSync(file: string, data: string, beforeCommit?: () => () => void): void {
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new KeyStoreError('io', `Could not create directory ${dir} (${errorCode(error)}).`, file);
  }
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let undo: (() => void) | undefined;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    undo = beforeCommit?.();
    renameSync(tmp, file);
  } catch (error) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already gone
    }
    undo?.();
    if (error instanceof KeyStoreError) throw error;
    throw new KeyStoreError('io', `Could not write key file ${file} (${errorCode(error)}).`, file);
  }
  try {
    const dirFd = openSync(dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // best effort: not every platform can fsync a directory
  }
}

/**
 * Encrypts `apiKey` and writes it to `file` atomically with mode 0600 (directory 0700), replacing
 * any previous file. Every write uses a fresh salt and IV (and, for keyring protection, a fresh data
 * key, stored in the keyring just before the file is committed and restored if the commit fails).
 *
 * @throws KeyStoreError `invalid_key`, `malformed` (bad scrypt parameters), `keyring_unavailable`, `io`.
 */
export async function writeKeyFile(file: string, apiKey: string, protection: KeyFileProtection): Promise<void> {
  assertStorableApiKey(apiKey);
  if ('passphrase' in protection) {
    if (!protection.passphrase) {
      throw new KeyStoreError('passphrase_required', 'An empty passphrase cannot protect a key file.', file);
    }
    const params: ScryptParams = { ...DEFAULT_SCRYPT_PARAMS, ...protection.scrypt };
    checkScryptParams(params, undefined);
    const salt = randomBytes(SALT_BYTES);
    const master = await scryptAsync(normalizePassphrase(protection.passphrase), salt, params);
    const contents = seal(apiKey, master, { name: 'scrypt', ...params, salt: salt.toString('base64') });
    writeFileAtomicSync(file, `${JSON.stringify(contents, null, 2)}\n`);
    return;
  }
  const { keyring } = protection;
  const service = protection.service ?? KEYRING_SERVICE;
  const account = protection.account ?? dataKeyAccount(file);
  const dataKey = randomBytes(KEY_BYTES);
  const encodedDataKey = dataKey.toString('base64');
  const contents = seal(apiKey, dataKey, { name: 'keyring', service, account });
  writeFileAtomicSync(file, `${JSON.stringify(contents, null, 2)}\n`, () => {
    let previous: string | null;
    try {
      previous = keyring.get(service, account);
      keyring.set(service, account, encodedDataKey);
    } catch {
      throw new KeyStoreError('keyring_unavailable', 'The OS keyring cannot store the key file\'s data key.', file);
    }
    return () => {
      try {
        if (previous === null) keyring.delete(service, account);
        else keyring.set(service, account, previous);
      } catch {
        // best effort
      }
    };
  });
}

/**
 * Default keyring account of a keyring-protected file's data key: `key-file-data-key:<absolute
 * path>`, one per file, so two key files never overwrite each other's data key. (The file records
 * the account it used; this default only matters when writing.)
 */
export function dataKeyAccount(file: string): string {
  return `${KEYRING_DATA_KEY_ACCOUNT}:${resolvePath(file)}`;
}

/** Deletes `file`; `true` when it existed. @throws KeyStoreError `io` on other failures. */
export function deleteKeyFile(file: string): boolean {
  try {
    unlinkSync(file);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw new KeyStoreError('io', `Could not delete key file ${file} (${errorCode(error)}).`, file);
  }
}

import { parseArgs } from 'node:util';
import { KeyStoreError } from '../errors/key-store-error';
import {
  dataKeyAccount,
  defaultKeyFilePath,
  deleteKeyFile,
  inspectKeyFileSync,
  PASSPHRASE_ENV,
  decryptKeyFile,
  writeKeyFile,
  type KeyFileProtection,
  type ScryptParams,
} from './key-file';
import {
  KEYRING_API_KEY_ACCOUNT,
  KEYRING_SERVICE,
  keyringDisabledByEnv,
  loadOsKeyring,
  type KeyringBackend,
} from './keyring';
import { maskKey } from './mask';
import { resolveApiKey, type ResolvedApiKey } from './resolve-key';

/** Environment variable with the new passphrase for `key rotate --new-passphrase`. */
export const NEW_PASSPHRASE_ENV = 'RESILIENT_CLAUDE_NEW_PASSPHRASE';

/** Exit codes of the `resilient-claude` CLI. */
export const EXIT = Object.freeze({
  /** Success. */
  ok: 0,
  /** No stored key was found (`get`, `rotate`, `delete`). */
  notFound: 1,
  /** Bad usage, or a refused action (printing the raw key to a terminal, a key on the command line). */
  usage: 2,
  /** A key-store error: insecure file permissions, wrong/missing passphrase, tampered file, keyring failure. */
  keyStore: 3,
  /** An unexpected error. */
  internal: 4,
});

/** Help text of the `resilient-claude` CLI (printed by `--help`). */
export const HELP = `Usage: resilient-claude key <command> [options]

Commands:
  key set         Store an API key read from stdin (hidden prompt on a terminal). Never
                  pass the key as an argument: arguments leak to \`ps\` and shell history.
  key get         Print the key the library would use: env, then keyring, then key file.
                  The raw key is printed only when stdout is not a terminal (a pipe or a
                  file); on a terminal, use --masked.
  key delete      Remove the stored key: the keyring entry and the key file (and the
                  key file's data key in the keyring).
  key rotate      Re-encrypt the key file under a fresh salt, IV (and data key). With
                  --new-key, replace the stored key by one read from stdin; with
                  --new-passphrase, re-encrypt under $${NEW_PASSPHRASE_ENV}
                  (or a prompt).

Options:
  --store <where>     auto (default) | keyring | file. set: auto = the OS keyring when
                      usable, else the key file. get: auto = the whole chain.
  --file <path>       Key file (default: $RESILIENT_CLAUDE_KEY_FILE, else
                      ~/.config/resilient-claude/key.enc).
  --masked            get: print the masked key (sk-ant-…abcd).
  --new-key           rotate: read the replacement key from stdin.
  --new-passphrase    rotate: encrypt the key file under a new passphrase.
  -h, --help          Show this help.

Key file encryption: AES-256-GCM under a key derived with scrypt from
$${PASSPHRASE_ENV} (prompted on a terminal), or, when no passphrase is given
and the OS keyring works, under a random data key kept in the keyring. The file is
written atomically with mode 0600 and refused when group/world-accessible.

Environment: ANTHROPIC_API_KEY, ${PASSPHRASE_ENV}, ${NEW_PASSPHRASE_ENV},
  RESILIENT_CLAUDE_KEY_FILE, RESILIENT_CLAUDE_KEYRING=off (never use the OS keyring).

Exit codes: 0 ok · 1 no stored key · 2 usage error or refused · 3 key store error
  (permissions, passphrase, tampered file, keyring) · 4 unexpected error.
`;

/** A readable stdin as the CLI uses it. */
export interface CliStdin extends AsyncIterable<string | Buffer> {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  setEncoding?(encoding: BufferEncoding): unknown;
  on?(event: 'data', listener: (chunk: string | Buffer) => void): unknown;
  off?(event: 'data', listener: (chunk: string | Buffer) => void): unknown;
  resume?(): unknown;
  pause?(): unknown;
}

/** Everything the CLI touches, injectable for tests. */
export interface CliIo {
  /** Environment (default in the bin: `process.env`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Key, passphrase and replacement-key input. */
  stdin: CliStdin;
  /** Data output: the key (`get`) or the masked key (`get --masked`). */
  stdout: { write(chunk: string): unknown; isTTY?: boolean };
  /** Messages and errors. Secrets the CLI handled are redacted from it. */
  stderr: { write(chunk: string): unknown };
  /** Keyring backend; `undefined` = the OS keyring (unless `RESILIENT_CLAUDE_KEYRING=off`), `null` = none. */
  keyring?: KeyringBackend | null;
  /** scrypt parameters for new key files (tests use cheaper ones). Default: the library default. */
  scrypt?: Partial<ScryptParams>;
}

class UsageError extends Error {}
class NotFound extends Error {}

const MAX_STDIN_BYTES = 64 * 1024;
type Store = 'auto' | 'keyring' | 'file';

/** One CLI invocation's state: the parsed flags plus the secrets it has seen (for redaction). */
class Session {
  readonly secrets: string[] = [];
  readonly keyring: KeyringBackend | null;
  readonly file: string;

  constructor(
    readonly io: CliIo,
    readonly store: Store,
    file: string | undefined,
  ) {
    this.keyring =
      io.keyring !== undefined ? io.keyring : keyringDisabledByEnv(io.env) ? null : loadOsKeyring();
    this.file = file ?? defaultKeyFilePath(io.env);
  }

  remember(secret: string): string {
    if (secret.length >= 4) this.secrets.push(secret);
    return secret;
  }

  /** Redacts every secret seen so far; applied to everything written to stderr. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join(maskKey(secret));
    return out;
  }

  say(message: string): void {
    this.io.stderr.write(`${this.redact(message)}\n`);
  }

  /** A keyring that answers (a loaded binding can still fail on a headless Linux box). */
  usableKeyring(): KeyringBackend | null {
    if (!this.keyring) return null;
    try {
      this.keyring.get(KEYRING_SERVICE, KEYRING_API_KEY_ACCOUNT);
      return this.keyring;
    } catch {
      return null;
    }
  }

  requireKeyring(): KeyringBackend {
    const keyring = this.usableKeyring();
    if (!keyring) {
      throw new KeyStoreError(
        'keyring_unavailable',
        'The OS keyring is not available (install @napi-rs/keyring; on Linux a Secret Service such as ' +
          'gnome-keyring must be running; RESILIENT_CLAUDE_KEYRING must not be off).',
      );
    }
    return keyring;
  }

  async readStdin(what: string): Promise<string> {
    const { stdin } = this.io;
    const text = stdin.isTTY ? await this.promptHidden(`${what}: `) : await readAll(stdin);
    return this.remember(text.trim());
  }

  async passphrase(envName: string, prompt: string, confirm: boolean): Promise<string | undefined> {
    const fromEnv = this.io.env[envName];
    if (fromEnv) return this.remember(fromEnv);
    if (!this.io.stdin.isTTY) return undefined;
    const first = this.remember(await this.promptHidden(`${prompt}: `));
    if (confirm && this.remember(await this.promptHidden(`${prompt} (again): `)) !== first) {
      throw new UsageError('The passphrases do not match.');
    }
    return first || undefined;
  }

  /** Reads a line from a terminal without echo. */
  promptHidden(prompt: string): Promise<string> {
    const { stdin, stderr } = this.io;
    stderr.write(prompt);
    return new Promise((resolve, reject) => {
      let value = '';
      const finish = (error?: Error) => {
        stdin.off?.('data', onData);
        stdin.setRawMode?.(false);
        stdin.pause?.();
        stderr.write('\n');
        if (error) reject(error);
        else resolve(value);
      };
      const onData = (chunk: string | Buffer) => {
        for (const ch of chunk.toString()) {
          if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
          if (ch === '\u0003') return finish(new UsageError('Interrupted.'));
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.setRawMode?.(true);
      stdin.setEncoding?.('utf8');
      stdin.on?.('data', onData);
      stdin.resume?.();
    });
  }

  /**
   * Reads the key file, prompting for its passphrase on a terminal when none is in the environment.
   * Returns the key and the passphrase that opened it (for a passphrase-protected file).
   */
  async readFile(): Promise<{ key: string; passphrase: string | undefined } | null> {
    const handle = inspectKeyFileSync(this.file);
    if (!handle) return null;
    let passphrase: string | undefined;
    if (handle.contents.kdf.name === 'scrypt') {
      passphrase = await this.passphrase(PASSPHRASE_ENV, `Passphrase for ${this.file}`, false);
    }
    const key = await decryptKeyFile(handle, { passphrase, keyring: this.keyring });
    return { key: this.remember(key), passphrase };
  }

  /** How to protect a new key file: passphrase (env or prompt) first, else a keyring data key. */
  async fileProtection(passphraseEnv: string, preferKeyring: boolean): Promise<KeyFileProtection> {
    const fromEnv = this.io.env[passphraseEnv];
    if (fromEnv) return { passphrase: this.remember(fromEnv), scrypt: this.io.scrypt ?? {} };
    const keyring = preferKeyring ? this.usableKeyring() : null;
    if (keyring) return { keyring };
    const typed = await this.passphrase(passphraseEnv, `New passphrase for ${this.file}`, true);
    if (!typed) {
      throw new KeyStoreError(
        'passphrase_required',
        `A passphrase is needed to encrypt ${this.file}: set ${passphraseEnv}, type one at the prompt ` +
          '(only when stdin is a terminal), or make the OS keyring available.',
        this.file,
      );
    }
    return { passphrase: typed, scrypt: this.io.scrypt ?? {} };
  }

  describe(found: Pick<ResolvedApiKey, 'source'>): string {
    switch (found.source) {
      case 'env':
        return 'environment (ANTHROPIC_API_KEY)';
      case 'keyring':
        return `OS keyring (service ${KEYRING_SERVICE}, account ${KEYRING_API_KEY_ACCOUNT})`;
      case 'file':
        return `key file ${this.file}`;
      default:
        return found.source;
    }
  }
}

async function readAll(stdin: CliStdin): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    size += buffer.length;
    if (size > MAX_STDIN_BYTES) throw new UsageError('stdin is larger than 64 KiB: that is not an API key.');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readNewKey(session: Session): Promise<string> {
  const key = await session.readStdin('Anthropic API key');
  if (!key) throw new UsageError('No key on stdin. Example: resilient-claude key set < key.txt');
  if (!key.startsWith('sk-ant-')) {
    session.say('warning: this does not look like an Anthropic API key (expected sk-ant-…); storing it anyway.');
  }
  return key;
}

async function cmdSet(session: Session): Promise<number> {
  const key = await readNewKey(session);
  const keyring = session.store === 'file' ? null : session.store === 'keyring' ? session.requireKeyring() : session.usableKeyring();
  if (keyring) {
    keyring.set(KEYRING_SERVICE, KEYRING_API_KEY_ACCOUNT, key);
    session.say(`Stored ${maskKey(key)} in the OS keyring (service ${KEYRING_SERVICE}, account ${KEYRING_API_KEY_ACCOUNT}).`);
    return EXIT.ok;
  }
  const protection = await session.fileProtection(PASSPHRASE_ENV, true);
  await writeKeyFile(session.file, key, protection);
  const how = 'passphrase' in protection ? 'passphrase (scrypt)' : 'a data key in the OS keyring';
  session.say(`Stored ${maskKey(key)} in ${session.file} (AES-256-GCM, ${how}; mode 0600).`);
  return EXIT.ok;
}

async function cmdGet(session: Session, masked: boolean): Promise<number> {
  const { io } = session;
  if (!masked && io.stdout.isTTY) {
    throw new UsageError(
      'Refusing to print the API key to a terminal. Use --masked, or pipe/redirect the output ' +
        '(e.g. export ANTHROPIC_API_KEY="$(resilient-claude key get)").',
    );
  }
  let found: ResolvedApiKey | null;
  if (session.store === 'keyring') {
    const key = session.requireKeyring().get(KEYRING_SERVICE, KEYRING_API_KEY_ACCOUNT);
    found = key ? { key, source: 'keyring' } : null;
  } else if (session.store === 'file') {
    const read = await session.readFile();
    found = read ? { key: read.key, source: 'file' } : null;
  } else {
    // The library's chain, except that a passphrase can be prompted for.
    found = await resolveApiKey({ env: io.env, keyring: session.keyring ?? false, keyFile: false });
    if (!found) {
      const read = await session.readFile();
      found = read ? { key: read.key, source: 'file' } : null;
    }
  }
  if (!found) throw new NotFound('No API key found (ANTHROPIC_API_KEY, OS keyring, key file).');
  session.remember(found.key);
  io.stdout.write(`${masked ? maskKey(found.key) : found.key}\n`);
  session.say(`source: ${session.describe(found)}`);
  return EXIT.ok;
}

async function cmdDelete(session: Session): Promise<number> {
  const deleted: string[] = [];
  if (session.store !== 'file') {
    const keyring = session.store === 'keyring' ? session.requireKeyring() : session.usableKeyring();
    if (keyring?.delete(KEYRING_SERVICE, KEYRING_API_KEY_ACCOUNT)) deleted.push('the OS keyring entry');
  }
  if (session.store !== 'keyring') {
    // A keyring-protected file names its data key's entry; fall back to the default for that path.
    let dataKey = { service: KEYRING_SERVICE, account: dataKeyAccount(session.file) };
    try {
      const kdf = inspectKeyFileSync(session.file)?.contents.kdf;
      if (kdf?.name === 'keyring') dataKey = kdf;
    } catch {
      // unreadable or insecure: it is being deleted anyway
    }
    if (deleteKeyFile(session.file)) deleted.push(`key file ${session.file}`);
    if (session.usableKeyring()?.delete(dataKey.service, dataKey.account)) deleted.push("the key file's data key in the OS keyring");
  }
  if (deleted.length === 0) throw new NotFound('No stored API key found; nothing deleted.');
  session.say(`Deleted ${deleted.join(', ')}.`);
  return EXIT.ok;
}

async function cmdRotate(session: Session, newKey: boolean, newPassphrase: boolean): Promise<number> {
  const keyring = session.store === 'file' ? null : session.usableKeyring();
  const inKeyring = keyring?.get(KEYRING_SERVICE, KEYRING_API_KEY_ACCOUNT) ?? null;
  if (session.store === 'keyring' || (session.store === 'auto' && inKeyring)) {
    if (!inKeyring) throw new NotFound('No API key in the OS keyring.');
    if (!newKey) {
      throw new UsageError('The OS keyring stores the key itself: there is nothing to re-encrypt. Use --new-key to replace it.');
    }
    session.remember(inKeyring);
    const replacement = await readNewKey(session);
    session.requireKeyring().set(KEYRING_SERVICE, KEYRING_API_KEY_ACCOUNT, replacement);
    session.say(`Rotated the OS keyring entry: ${maskKey(inKeyring)} → ${maskKey(replacement)}.`);
    return EXIT.ok;
  }
  const read = await session.readFile();
  if (!read) throw new NotFound(`No stored API key (no key file at ${session.file}).`);
  const current = read.key;
  const replacement = newKey ? await readNewKey(session) : current;
  let protection: KeyFileProtection;
  if (newPassphrase) {
    protection = await session.fileProtection(NEW_PASSPHRASE_ENV, false);
  } else if (read.passphrase !== undefined) {
    protection = { passphrase: read.passphrase, scrypt: session.io.scrypt ?? {} }; // same passphrase, new salt and IV
  } else {
    protection = { keyring: session.requireKeyring() }; // a keyring-protected file: new data key
  }
  await writeKeyFile(session.file, replacement, protection);
  session.say(
    `Rotated ${session.file}: ${maskKey(current)} → ${maskKey(replacement)} (new salt and IV` +
      `${'keyring' in protection ? ', new data key' : newPassphrase ? ', new passphrase' : ''}).`,
  );
  return EXIT.ok;
}

/**
 * Runs the `resilient-claude` CLI with `args` (without `node` and the script) and returns the exit
 * code (see {@link EXIT}). Never throws; never writes the key or a passphrase anywhere except the
 * key itself to stdout for a plain `key get` whose stdout is not a terminal.
 */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  let session: Session | undefined;
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...args],
        allowPositionals: true,
        strict: true,
        options: {
          store: { type: 'string' },
          file: { type: 'string' },
          masked: { type: 'boolean' },
          'new-key': { type: 'boolean' },
          'new-passphrase': { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (error) {
      // Node's messages can echo what was typed; a mistyped key must not reach the terminal log.
      const code = (error as { code?: string }).code;
      throw new UsageError(code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 'Unknown option.' : 'Invalid options.');
    }
    const { values, positionals } = parsed;
    if (values.help || positionals.length === 0) {
      io.stdout.write(HELP);
      return values.help ? EXIT.ok : EXIT.usage;
    }
    const [group, command, ...extra] = positionals;
    if (group !== 'key' || !command || !['set', 'get', 'delete', 'rotate'].includes(command)) {
      throw new UsageError('Unknown command. Commands: key set | get | delete | rotate.');
    }
    if (extra.length > 0) {
      throw new UsageError(
        command === 'set' || command === 'rotate'
          ? 'Unexpected argument. The key is read from stdin, never from the command line (arguments ' +
              'leak to `ps` and shell history). If that argument was your key, consider rotating it.'
          : 'Unexpected argument.',
      );
    }
    const store = values.store ?? 'auto';
    if (store !== 'auto' && store !== 'keyring' && store !== 'file') {
      throw new UsageError('--store must be auto, keyring or file.');
    }
    if (values.masked && command !== 'get') throw new UsageError('--masked applies to `key get` only.');
    if ((values['new-key'] || values['new-passphrase']) && command !== 'rotate') {
      throw new UsageError('--new-key and --new-passphrase apply to `key rotate` only.');
    }
    session = new Session(io, store, values.file);
    switch (command) {
      case 'set':
        return await cmdSet(session);
      case 'get':
        return await cmdGet(session, values.masked ?? false);
      case 'delete':
        return await cmdDelete(session);
      default:
        return await cmdRotate(session, values['new-key'] ?? false, values['new-passphrase'] ?? false);
    }
  } catch (error) {
    const say = (message: string) => io.stderr.write(`${session ? session.redact(message) : message}\n`);
    if (error instanceof UsageError) {
      say(`error: ${error.message} (see --help)`);
      return EXIT.usage;
    }
    if (error instanceof NotFound) {
      say(error.message);
      return EXIT.notFound;
    }
    if (error instanceof KeyStoreError) {
      say(`error: ${error.message}`);
      return EXIT.keyStore;
    }
    say(`error: unexpected ${error instanceof Error ? `${error.name}: ${error.message}` : 'failure'}`);
    return EXIT.internal;
  }
}

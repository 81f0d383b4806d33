/** One complete SSE event block, with its original bytes. */
export interface SseBlock {
  /** The block exactly as received, terminating blank line included (a view, made when asked for). */
  readonly bytes: Uint8Array;
  /** The buffer the block lies in, at `[start, end)`: adjacent blocks can be handed on as one view. */
  readonly source: Uint8Array;
  readonly start: number;
  readonly end: number;
  /** The `event:` field, or undefined. */
  readonly event: string | undefined;
  /** The `data:` lines joined with `\n`. */
  readonly data: string;
}

const LF = 0x0a;
const CR = 0x0d;
const decoder = new TextDecoder();

/** The fields of a block's text: its (last) `event:` and its `data:` lines joined with `\n`. */
function parseFields(text: string): { event: string | undefined; data: string } {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return { event, data: data.join('\n') };
}

/** `event: ` as bytes. */
const EVENT_PREFIX = [0x65, 0x76, 0x65, 0x6e, 0x74, 0x3a, 0x20];
/** The event names the API sends, by their bytes: a known name is matched, never decoded. */
const KNOWN_EVENTS = ['content_block_delta', 'ping', 'message_start', 'content_block_start', 'content_block_stop', 'message_delta', 'message_stop', 'error'].map(
  (name) => [name, new TextEncoder().encode(name)] as const,
);

function startsWithEvent(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start < EVENT_PREFIX.length) return false;
  for (let i = 0; i < EVENT_PREFIX.length; i++) if (buf[start + i] !== EVENT_PREFIX[i]) return false;
  return true;
}

/** Whether another `event:` line follows the first line (at `from`, a line start) before `end`. */
function hasLaterEventLine(buf: Uint8Array, from: number, end: number): boolean {
  for (let at = from; at < end; ) {
    let i = 0;
    while (i < 6 && at + i < end && buf[at + i] === EVENT_PREFIX[i]) i++;
    if (i === 6) return true;
    const lf = buf.indexOf(LF, at);
    if (lf === -1 || lf >= end) return false;
    at = lf + 1;
  }
  return false;
}

/** The name in `buf[start, end)`: one of the known names without decoding, else decoded. */
function eventName(buf: Uint8Array, start: number, end: number): string {
  const length = end - start;
  for (const [name, encoded] of KNOWN_EVENTS) {
    if (encoded.length !== length) continue;
    let i = 0;
    while (i < length && buf[start + i] === encoded[i]) i++;
    if (i === length) return name;
  }
  return decoder.decode(buf.subarray(start, end));
}

/** Whether `bytes` hold the byte `value`. */
function holds(bytes: Uint8Array, value: number): boolean {
  return bytes.indexOf(value) !== -1;
}

/**
 * A block whose event name is read at once and whose data only when asked for: most blocks are text
 * deltas, which the tap passes on by their name alone, so their bytes are never decoded, nor even given
 * a view of their own.
 */
class LazyBlock implements SseBlock {
  readonly event: string | undefined;
  #data: string | undefined;

  /** `sourceHasCR`: whether the buffer holds a CR anywhere from this block on (else none is looked for). */
  constructor(
    readonly source: Uint8Array,
    readonly start: number,
    readonly end: number,
    sourceHasCR: boolean,
  ) {
    // The API's shape, `event: name\ndata: …\n\n`, is read on the bytes; anything else (several event
    // lines, CR line ends, comments first) goes through the full field parser.
    const nl = source.indexOf(LF, start);
    const cr = sourceHasCR && holds(source.subarray(start, end), CR);
    if (nl > start + 7 && nl < end && !cr && startsWithEvent(source, start, end) && !hasLaterEventLine(source, nl + 1, end)) {
      this.event = eventName(source, start + 7, nl);
    } else {
      const fields = parseFields(decoder.decode(this.bytes));
      this.event = fields.event;
      this.#data = fields.data;
    }
  }

  get bytes(): Uint8Array {
    return this.source.subarray(this.start, this.end);
  }

  get data(): string {
    this.#data ??= parseFields(decoder.decode(this.bytes)).data;
    return this.#data;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * Splits an SSE byte stream into complete event blocks without altering a byte: a block ends at a blank
 * line (line terminators CRLF, LF or CR, as the SSE spec allows). Passing blocks on whole — never half an
 * event — is what lets the stream tap hold back or drop a single event (e.g. an `error` event that
 * arrives before any content) while everything else reaches the reader unchanged.
 */
export class SseBlockSplitter {
  #pending: Uint8Array = new Uint8Array(0);
  /** Scan position within `#pending`. */
  #scan = 0;
  /** Start of the current line is at or before `#scan`, and the line has no characters yet. */
  #lineEmpty = true;
  /** Start of the current block within `#pending`. */
  #blockStart = 0;
  /** `#pending` holds a CR from `#blockStart` on. */
  #hasCR = false;

  /** Feeds bytes; returns the blocks completed by them. */
  push(chunk: Uint8Array): SseBlock[] {
    this.#pending = concat(this.#pending, chunk);
    const buf = this.#pending;
    const blocks: SseBlock[] = [];
    let i = this.#scan;
    // One scan per chunk: without a CR (what the API sends) no block needs to look for one.
    this.#hasCR = buf.indexOf(CR, this.#blockStart) !== -1;
    if (!this.#hasCR || buf.indexOf(CR, i) === -1) {
      // LF line ends only (what the API sends): jump from line end to line end natively.
      for (;;) {
        const lf = buf.indexOf(LF, i);
        if (lf === -1) {
          if (i < buf.length) this.#lineEmpty = false;
          i = buf.length;
          break;
        }
        if (lf > i) this.#lineEmpty = false;
        i = this.#lineEnd(buf, lf + 1, blocks);
      }
    }
    while (i < buf.length) {
      const b = buf[i]!;
      if (b === CR) {
        if (i + 1 >= buf.length) break; // need the next byte to tell CR from CRLF
        const end = buf[i + 1] === LF ? i + 2 : i + 1;
        i = this.#lineEnd(buf, end, blocks);
      } else if (b === LF) {
        i = this.#lineEnd(buf, i + 1, blocks);
      } else {
        this.#lineEmpty = false;
        i++;
      }
    }
    // Keep only the unfinished block.
    if (this.#blockStart > 0) {
      this.#pending = buf.slice(this.#blockStart);
      i -= this.#blockStart;
      this.#blockStart = 0;
    }
    this.#scan = i;
    return blocks;
  }

  /** Bytes of an unfinished trailing block (a stream that ended mid-event). */
  remainder(): Uint8Array {
    return this.#pending.slice(this.#blockStart);
  }

  #lineEnd(buf: Uint8Array, next: number, blocks: SseBlock[]): number {
    if (this.#lineEmpty) {
      // A blank line: the block ends here. Blank lines with nothing before them are just separators.
      // Blocks without an event (comments, extra separators) are returned too, so no byte is lost.
      // A view, not a copy: `#pending` is replaced, never written to, after a push.
      blocks.push(new LazyBlock(buf, this.#blockStart, next, this.#hasCR));
      this.#blockStart = next;
    }
    this.#lineEmpty = true;
    return next;
  }
}

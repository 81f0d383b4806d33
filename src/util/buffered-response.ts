/** A JSON body read whole: parsed at most once, for the layers and the SDK alike. */
export class BufferedJson {
  #parsed: { value: unknown } | { error: unknown } | undefined;

  constructor(readonly bytes: Uint8Array) {}

  /** The parsed body; throws the `SyntaxError` `Response.json()` would for invalid JSON. */
  parse(): unknown {
    this.#parsed ??= parseOnce(this.bytes);
    if ('error' in this.#parsed) throw this.#parsed.error;
    return this.#parsed.value;
  }
}

const decoder = new TextDecoder();

function parseOnce(bytes: Uint8Array): { value: unknown } | { error: unknown } {
  try {
    return { value: JSON.parse(decoder.decode(bytes)) };
  } catch (error) {
    return { error };
  }
}

function unusable(): TypeError {
  return new TypeError('Body is unusable: Body has already been read');
}

/** Where a {@link BufferedResponse}'s status line, headers and url come from. */
export interface ResponseHead {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly url: string;
  readonly redirected: boolean;
}

/**
 * A `Response` whose body is already in memory. It behaves as a native one does (`json()`, `text()`,
 * `arrayBuffer()`, `blob()`, `body`, `bodyUsed`, `clone()`, one read only), but builds no stream unless
 * someone asks for `body`: a native `Response` over bytes makes a transferable `ReadableStream` (about
 * 13 µs on Node 20) and reading it back costs as much again, on every call. `json()` shares the one
 * parse with the layers, and the headers object is the original's, not a copy (a `Headers` copy
 * validates every entry again).
 */
export class BufferedResponse extends Response {
  readonly #head: ResponseHead;
  /** The body, for the layers that read it without consuming it. */
  readonly buffered: BufferedJson;
  #used = false;
  /** A native response over the bytes, made only when the body is asked for as a stream. */
  #native: Response | undefined;

  constructor(head: ResponseHead, body: BufferedJson) {
    super(null, { status: head.status, statusText: head.statusText });
    this.#head = head;
    this.buffered = body;
  }

  override get headers(): Headers {
    return this.#head.headers;
  }

  override get url(): string {
    return this.#head.url;
  }

  override get redirected(): boolean {
    return this.#head.redirected;
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    return this.#stream().body;
  }

  override get bodyUsed(): boolean {
    return this.#native ? this.#native.bodyUsed : this.#used;
  }

  override json(): Promise<unknown> {
    if (this.#native) return this.#native.json();
    return this.#take(() => this.buffered.parse());
  }

  override text(): Promise<string> {
    if (this.#native) return this.#native.text();
    return this.#take(() => decoder.decode(this.buffered.bytes));
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#native) return this.#native.arrayBuffer();
    return this.#take(() => this.#copy().buffer);
  }

  /** The body's bytes (a copy), as newer runtimes' `Response.bytes()`. */
  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (this.#native) return this.#native.arrayBuffer().then((buffer) => new Uint8Array(buffer));
    return this.#take(() => this.#copy());
  }

  override blob(): Promise<Blob> {
    if (this.#native) return this.#native.blob();
    return this.#take(() => new Blob([this.#copy()], { type: this.headers.get('content-type') ?? '' }));
  }

  override formData(): Promise<FormData> {
    return this.#stream().formData();
  }

  override clone(): Response {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.');
    if (this.#native) {
      const copy = new BufferedResponse(this.#head, this.buffered);
      copy.#native = this.#native.clone();
      return copy;
    }
    return new BufferedResponse(this.#head, this.buffered);
  }

  #take<T>(read: () => T): Promise<T> {
    if (this.#used) return Promise.reject(unusable());
    this.#used = true;
    try {
      return Promise.resolve(read());
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  #copy(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.buffered.bytes);
  }

  /** The native response the body streams from, once someone asks for it (already read if the body was). */
  #stream(): Response {
    if (!this.#native) {
      this.#native = new Response(this.#copy(), { status: this.status, statusText: this.statusText });
      if (this.#used) void this.#native.arrayBuffer();
    }
    return this.#native;
  }
}

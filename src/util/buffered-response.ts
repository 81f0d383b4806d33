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
  /** `basic`, `cors`, … as the original's; `default` (a response made here) when absent. */
  readonly type?: ResponseType;
}

/**
 * A `Response` whose body is already in memory. It behaves as a native one does (`json()`, `text()`,
 * `arrayBuffer()`, `blob()`, `body`, `bodyUsed`, `clone()`, one read only), but builds no stream unless
 * someone asks for `body`, and then a plain one over the bytes: a native `Response` over bytes builds a
 * transferable stream and copies (about 24 µs on Node 20), reading it back costs as much again, and the
 * SDK asks for `body` on every response. `json()` shares the one parse with the layers, and the headers
 * object is the original's, not a copy (a `Headers` copy validates every entry again).
 */
export class BufferedResponse extends Response {
  readonly #head: ResponseHead;
  /** The body, for the layers that read it without consuming it. */
  readonly buffered: BufferedJson;
  /** Read, by a method or through the stream (a native body is "disturbed"). */
  #used = false;
  /** The body as a stream, made when asked for. */
  #stream: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;

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

  override get type(): ResponseType {
    return this.#head.type ?? 'default';
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (!this.#stream) {
      const empty = this.#used;
      // highWaterMark 0: nothing is pulled, and the body is not used, until someone reads; the reader
      // gets a copy (the SDK itself only asks for the stream, it never reads it).
      // A byte stream, as a native body is (BYOB readers work).
      this.#stream = new ReadableStream(
        {
          type: 'bytes',
          pull: (controller) => {
            this.#used = true;
            if (!empty) controller.enqueue(this.#copy());
            controller.close();
            controller.byobRequest?.respond(0);
          },
          cancel: () => {
            this.#used = true;
          },
        },
        { highWaterMark: 0 },
      ) as ReadableStream<Uint8Array<ArrayBuffer>>;
      // Read already: as a native body after json(), the stream is locked for good.
      if (this.#used) this.#stream.getReader();
    }
    return this.#stream;
  }

  override get bodyUsed(): boolean {
    return this.#used;
  }

  override json(): Promise<unknown> {
    return this.#take(() => this.buffered.parse());
  }

  override text(): Promise<string> {
    return this.#take(() => decoder.decode(this.buffered.bytes));
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    return this.#take(() => this.#copy().buffer);
  }

  /** The body's bytes (a copy), as newer runtimes' `Response.bytes()`. */
  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#take(() => this.#copy());
  }

  override blob(): Promise<Blob> {
    return this.#take(() => new Blob([this.#copy()], { type: this.headers.get('content-type') ?? '' }));
  }

  override formData(): Promise<FormData> {
    return this.#take(() => new Response(this.#copy(), { headers: this.headers }).formData());
  }

  override clone(): Response {
    if (this.#used || this.#stream?.locked) throw new TypeError('Response.clone: Body has already been consumed.');
    return bufferedCopy(this.#head, this.buffered);
  }

  #take<T>(read: () => T | Promise<T>): Promise<T> {
    if (this.#used || this.#stream?.locked) return Promise.reject(unusable());
    this.#used = true;
    // A read method takes the stream too, as a native one locks its body.
    this.#stream?.getReader();
    try {
      return Promise.resolve(read());
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  #copy(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.buffered.bytes);
  }

}

/** A new response over the same bytes (outside the class: a class that names itself is renamed in the bundle). */
function bufferedCopy(head: ResponseHead, body: BufferedJson): BufferedResponse {
  return new BufferedResponse(head, body);
}

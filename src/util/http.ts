/** The Messages endpoint (create and stream), without its sub-paths (`count_tokens`, `batches`). */
const MESSAGES_PATH = /\/v1\/messages(?:\?|$)/;

/** Whether a request is a Messages `create` (JSON or stream): the calls that produce billable usage. */
export function isMessagesCreate(method: string, path: string): boolean {
  return method === 'POST' && MESSAGES_PATH.test(path);
}

/** Whether a response is a server-sent event stream. */
export function isEventStream(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').includes('text/event-stream');
}

/** Whether a response carries JSON (`application/json` or a `+json` type). */
export function isJson(response: Response): boolean {
  const type = response.headers.get('content-type') ?? '';
  return type.includes('application/json') || type.includes('+json');
}

/**
 * A `Response` with a new body and the status, headers and url of `original`. The headers object is
 * shared, not copied (a `Headers` copy validates every entry again: tens of µs per call on the hot
 * path); `clone()` gives a copy that shares them too. Responses are immutable, so sharing is safe.
 */
export function withBody(original: Response, body: BodyInit | null): Response {
  const response = new Response(body, { status: original.status, statusText: original.statusText });
  return shareHeaders(response, original);
}

function shareHeaders(response: Response, original: Response): Response {
  Object.defineProperties(response, {
    headers: { value: original.headers },
    url: { value: original.url },
    type: { value: original.type },
    clone: { value: () => shareHeaders(Response.prototype.clone.call(response), original) },
  });
  return response;
}

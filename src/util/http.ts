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

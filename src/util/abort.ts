/**
 * Makes `controller` abort (with the source's reason) when any of `sources` aborts; returns a function
 * that detaches the listeners again. Not `AbortSignal.any()`: on Node 20 every call of it leaves an
 * entry behind on a long-lived source signal, and a caller's signal can outlive thousands of calls.
 */
export function followSignals(controller: AbortController, sources: readonly (AbortSignal | null | undefined)[]): () => void {
  const links: (readonly [AbortSignal, () => void])[] = [];
  for (const source of sources) {
    if (!source) continue;
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    const onAbort = () => controller.abort(source.reason);
    source.addEventListener('abort', onAbort, { once: true });
    links.push([source, onAbort]);
  }
  return () => {
    for (const [source, onAbort] of links) source.removeEventListener('abort', onAbort);
  };
}

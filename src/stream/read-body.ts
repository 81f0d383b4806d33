import { AttemptTimeoutError } from '../classify';

/**
 * Reads a whole response body. Silence longer than `idleTimeoutMs` (0 = no limit) cancels it and rejects
 * with `AttemptTimeoutError`; a transport failure mid-body rejects with the transport's error. One timer
 * for the whole read, re-armed only when it fires early.
 */
export async function readBody(body: ReadableStream<Uint8Array>, idleTimeoutMs: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  let lastByteAt = performance.now();
  let silent = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    const quiet = performance.now() - lastByteAt;
    if (quiet < idleTimeoutMs) {
      timer = setTimeout(check, idleTimeoutMs - quiet);
      return;
    }
    silent = true;
    reader.cancel().catch(() => undefined);
  };
  if (idleTimeoutMs > 0) timer = setTimeout(check, idleTimeoutMs);
  try {
    for (;;) {
      const chunk = await reader.read();
      if (silent) throw new AttemptTimeoutError();
      if (chunk.done) break;
      lastByteAt = performance.now();
      parts.push(chunk.value);
      size += chunk.value.length;
    }
  } finally {
    clearTimeout(timer);
  }
  if (parts.length === 1) return parts[0]!;
  const whole = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.length;
  }
  return whole;
}

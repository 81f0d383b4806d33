import { Redis } from 'ioredis';
import type { LogSink } from '../logging';

type Timer = { unref?: () => void };
type Socket = { ref?: () => void; unref?: () => void };

/**
 * Opens the Redis connection a client owns (from a `redis://` URL): fails fast rather than queueing
 * while Redis is down, reports one warn line per outage, and never keeps the process alive by itself.
 *
 * The raw SDK needs no `close()`, so neither may we: a script that makes its calls and ends must exit.
 * The socket is held (`ref`) only while commands are pending — so the last budget settlement or
 * ledger write still reaches Redis before the process exits — and released (`unref`) when idle. The
 * reconnect timer ioredis keeps during an outage is released too. `close()` still quits at once.
 */
export function openOwnedConnection(url: string, log: LogSink): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false });
  let pending = 0;
  const holdWhileBusy = () => {
    const socket = (redis as unknown as { stream?: Socket }).stream;
    if (pending > 0) socket?.ref?.();
    else socket?.unref?.();
  };
  redis.on('connect', holdWhileBusy);
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command, stream) => {
    pending++;
    holdWhileBusy();
    const done = () => {
      pending--;
      holdWhileBusy();
    };
    command.promise.then(done, done);
    return send(command, stream);
  }) as Redis['sendCommand'];
  // ioredis sets its reconnect timer right after announcing the reconnect.
  redis.on('reconnecting', () => {
    queueMicrotask(() => (redis as unknown as { reconnectTimeout?: Timer | null }).reconnectTimeout?.unref?.());
  });

  // Without a listener ioredis prints every connection error to stderr itself. The stores report outages
  // (events, health); here one line per outage is enough.
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    log.log('warn', { error: error.message }, 'Redis connection error');
  });
  redis.on('ready', () => {
    down = false;
  });
  return redis;
}

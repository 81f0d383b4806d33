/**
 * Runs the fake Anthropic server in its own process for benchmarks, so the client being measured does
 * not share its event loop with the server. Prints the URL on stdout, then serves until killed.
 * Options come as JSON in argv[2].
 */
import { FakeAnthropicServer } from '../src/testing';

async function main(): Promise<void> {
  const options = process.argv[2] ? (JSON.parse(process.argv[2]) as Parameters<typeof FakeAnthropicServer.start>[0]) : {};
  const server = await FakeAnthropicServer.start({ recordBodies: false, ledgerLimit: 100, ...options });
  process.stdout.write(`${server.url}\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('message', (msg) => {
    if (msg === 'stats') process.send?.(server.stats());
  });
}

void main();

// API key pool: calls are spread over several keys; a key the API refuses (401/403) is quarantined and
// the call moves on to another key at once. Keys are named by alias everywhere: never printed or logged.
//
// Run: npm run example -- key-pool
// Offline by default (one of three keys is revoked on the fake server). With ANTHROPIC_API_KEY set it
// pools your key with a deliberately invalid one and makes ONE real call (claude-haiku-4-5,
// max_tokens 20): well under $0.001 (the invalid key's 401 costs nothing).
//
// In your code, '../src/index' is 'resilient-claude' and '../src/testing/index' is 'resilient-claude/testing'.
import { ResilientClaude } from '../src/index';
import { FakeAnthropicServer } from '../src/testing/index';

async function main(): Promise<void> {
  const live = process.env.ANTHROPIC_API_KEY;
  const keys = live
    ? [{ key: 'sk-ant-invalid-demo', alias: 'invalid' }, { key: live, alias: 'main' }]
    : [{ key: 'sk-fake-old-1111', alias: 'old' }, { key: 'sk-fake-primary-2222', alias: 'primary' }, { key: 'sk-fake-backup-3333', alias: 'backup' }];

  // Offline: the fake server accepts only these keys, then the old one is revoked.
  const server = live ? undefined : await FakeAnthropicServer.start({ apiKeys: keys.map((k) => k.key) });
  server?.revokeKey('sk-fake-old-1111');

  // `apiKeys` replaces `apiKey`. Strategy: 'round_robin' (default), 'random' or 'least_loaded'.
  // A quarantined key is re-checked after `quarantineMs` (default 10 min).
  const client = new ResilientClaude({ apiKeys: keys, keyStrategy: 'round_robin', ...(server ? { baseURL: server.url } : {}) });

  const seen: unknown[] = []; // every event, record and snapshot, checked for key text at the end
  client.on('keyQuarantined', (e) => {
    seen.push(e);
    console.log(`keyQuarantined: ${e.alias} (HTTP ${e.status}, ${e.reason})`);
  });
  client.on('callComplete', (r) => {
    seen.push(r);
    console.log(`call ${r.callId}: ok=${r.ok}, attempts=${r.attempts}, answered with key '${r.notes?.keyAlias}'`);
  });

  try {
    for (let i = 0; i < (live ? 1 : 4); i++) {
      await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] });
    }
    // Per key: requests, in flight, quarantine (also in client.health().keys and GET /health).
    console.log('client.keys.snapshot():');
    for (const key of client.keys!.snapshot()) {
      console.log(`  ${key.alias}: ${key.requests} request(s), ${key.quarantined ? `quarantined (${key.reason})` : 'in rotation'}`);
    }

    seen.push(client.keys!.snapshot(), client.health());
    const text = JSON.stringify(seen);
    const leaked = keys.some((k) => text.includes(k.key));
    console.log(leaked ? 'A KEY WAS PRINTED' : 'checked: no key text in events, call records, snapshot or health()');
    if (leaked) process.exitCode = 1;
  } finally {
    await client.close();
    await server?.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(__dirname, '..');
const dist = join(root, 'dist');

/** Newest modification time under a folder. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** A script that performs a real retry through the built package: one 529, then success. */
const script = (load: string) => `
${load}
(async () => {
  const server = await FakeAnthropicServer.start();
  server.schedule(faults.overloaded());
  const client = new ResilientClaude({ apiKey: 'test-key', baseURL: server.url, logger: false, retry: { baseDelayMs: 1 } });
  let retries = 0;
  client.on('retry', () => retries++);
  const message = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
  const attempts = server.ledger.length;
  await client.close();
  await server.close();
  console.log(JSON.stringify({ type: message.type, attempts, retries }));
})().catch((error) => { console.error(error); process.exit(1); });
`;

describe('the built package', () => {
  beforeAll(() => {
    // CI builds before testing; a local run builds when the output is missing or stale.
    if (!existsSync(join(dist, 'index.js')) || newest(join(root, 'src')) > statSync(join(dist, 'index.js')).mtimeMs) {
      execFileSync('npx', ['tsup', '--silent'], { cwd: root, stdio: 'inherit' });
    }
  }, 120_000);

  it('is require()-able as CommonJS and performs a real retry', () => {
    const out = execFileSync(
      process.execPath,
      ['-e', script(`const { ResilientClaude } = require('./dist/index.js'); const { FakeAnthropicServer, faults } = require('./dist/testing/index.js');`)],
      { cwd: root, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({ type: 'message', attempts: 2, retries: 1 });
  });

  it('is importable as ESM and performs a real retry', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        script(`import { ResilientClaude } from './dist/index.mjs'; import { FakeAnthropicServer, faults } from './dist/testing/index.mjs';`),
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({ type: 'message', attempts: 2, retries: 1 });
  });

  it('keeps the name of every exported class and function (error names come from the class)', () => {
    const check = (entry: string) => `
      const m = require('./${entry}');
      console.log(JSON.stringify(Object.entries(m).filter(([k, v]) => typeof v === 'function' && k !== 'default' && v.name !== k).map(([k, v]) => k + ' is ' + v.name)));`;
    const checkEsm = (entry: string) => `
      const m = await import('./${entry}');
      console.log(JSON.stringify(Object.entries(m).filter(([k, v]) => typeof v === 'function' && k !== 'default' && v.name !== k).map(([k, v]) => k + ' is ' + v.name)));`;
    for (const entry of ['dist/index.js', 'dist/testing/index.js']) {
      expect(JSON.parse(execFileSync(process.execPath, ['-e', check(entry)], { cwd: root, encoding: 'utf8' })), entry).toEqual([]);
    }
    for (const entry of ['dist/index.mjs', 'dist/testing/index.mjs']) {
      expect(JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', checkEsm(entry)], { cwd: root, encoding: 'utf8' })), entry).toEqual([]);
    }
    // Internal error and Response classes too (a buffered body is what users get): none under another name.
    for (const entry of ['index.js', 'index.mjs', 'testing/index.js', 'testing/index.mjs']) {
      const code = readFileSync(join(dist, entry), 'utf8');
      const renamed = [...code.matchAll(/var (\w+) = class (\w+) extends (\w*Error|Response)\b/g)].filter((m) => m[1] !== m[2]).map((m) => m[1]);
      expect(renamed, entry).toEqual([]);
    }
    const names = execFileSync(
      process.execPath,
      ['-e', `const m = require('./dist/index.js'); console.log(new m.ConfigError('x', 'y').name, m.ConfigError.misspelled('maxRetires', 'maxRetries').name)`],
      { cwd: root, encoding: 'utf8' },
    );
    expect(names.trim()).toBe('ConfigError ConfigError');
  });
});

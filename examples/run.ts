// Runner behind `npm run example -- <name>`.
//
//   npm run example                 lists the examples
//   npm run example -- basic        runs one
//   npm run example -- all          runs every example in turn; exits non-zero if any fails (CI)
//
// Examples run offline against the fake server, unless ANTHROPIC_API_KEY is set: then they make a few
// tiny real calls (claude-haiku-4-5, max_tokens ≤ 50; under $0.01 for `all`). Unset it to stay offline.
import { spawn } from 'node:child_process';
import { join, relative } from 'node:path';

interface Example {
  readonly name: string;
  readonly description: string;
  /** The command, from the repository root. */
  readonly command: readonly string[];
}

const ROOT = join(__dirname, '..');
const TIMEOUT_MS = 60_000;

/** A TypeScript example run by Node with tsx's loader. */
const script = (name: string, description: string): Example => ({
  name,
  description,
  command: [process.execPath, '--import', 'tsx', relative(ROOT, join(__dirname, `${name}.ts`))],
});

const EXAMPLES: readonly Example[] = [
  script('basic', 'drop-in for `new Anthropic()`: a call survives two 529s; call record; cost summary'),
  script('streaming', 'messages.stream(): failure before the first token is retried; mid-way: StreamInterruptedError'),
  script('budgets', 'per-user budgets: budgetWarning, BudgetExceededError before sending, costs.byUser()'),
  script('shared-limits-redis', 'two processes share one rate limit through Redis: no 429 (needs Redis)'),
  script('health-express', '/health, /health/ready, /metrics mounted in express 5 (ready turns 503 in an outage)'),
  script('health-fastify', '/health, /health/live, /health/ready, /metrics mounted in fastify 5'),
  script('key-pool', 'apiKeys pool: a revoked key is quarantined, calls go on, no key is ever printed'),
  script('custom-prices', 'cost.prices: a model the price table lacks, an override of a known one, unknownModel'),
  script('batches', 'callOptions({ batch: true }): 50 calls in one Message Batch at half price; a per-request error'),
  {
    name: 'testing-your-app',
    description: 'vitest tests of your own code against the fake server, with injected faults',
    command: ['npx', 'vitest', 'run', '--config', 'examples/vitest.config.mts'],
  },
];

function list(): void {
  console.log('Usage: npm run example -- <name | all>\n');
  const width = Math.max(...EXAMPLES.map((e) => e.name.length));
  for (const e of EXAMPLES) console.log(`  ${e.name.padEnd(width)}  ${e.description}`);
  const mode = process.env.ANTHROPIC_API_KEY ? 'LIVE: ANTHROPIC_API_KEY is set, examples make tiny real calls' : 'offline (fake server)';
  console.log(`\nMode: ${mode}.`);
}

/** Runs one example with inherited stdio; resolves with its exit code (non-zero on timeout or signal). */
function run(example: Example): Promise<number> {
  return new Promise((resolve) => {
    const [cmd, ...args] = example.command;
    const child = spawn(cmd!, args, { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' && cmd === 'npx' });
    const timer = setTimeout(() => {
      console.error(`\n${example.name}: still running after ${TIMEOUT_MS / 1000} s, stopping it`);
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    child.on('error', (error) => {
      console.error(`${example.name}: could not start: ${error.message}`);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}

async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name) return list();

  if (name === 'all') {
    const results: { name: string; code: number; seconds: number }[] = [];
    const started = Date.now();
    for (const example of EXAMPLES) {
      console.log(`\n━━━ ${example.name}: ${example.description}\n`);
      const t0 = Date.now();
      const code = await run(example);
      results.push({ name: example.name, code, seconds: (Date.now() - t0) / 1000 });
    }
    console.log('\n━━━ summary');
    for (const r of results) console.log(`  ${r.code === 0 ? 'ok  ' : 'FAIL'}  ${r.name.padEnd(20)} ${r.seconds.toFixed(1)} s`);
    const failed = results.filter((r) => r.code !== 0);
    console.log(`\n${results.length - failed.length}/${results.length} passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.exitCode = failed.length > 0 ? 1 : 0;
    return;
  }

  const example = EXAMPLES.find((e) => e.name === name || `${e.name}.ts` === name);
  if (!example) {
    console.error(`Unknown example "${name}".\n`);
    list();
    process.exitCode = 2;
    return;
  }
  process.exitCode = await run(example);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

#!/usr/bin/env node
/**
 * The `resilient-claude` command: manage the stored Anthropic API key
 * (`resilient-claude key set | get [--masked] | delete | rotate`, `--help`).
 * Everything is in `src/security/cli-main.ts`; this file only binds it to the process.
 *
 * @packageDocumentation
 */
import { runCli } from './security/cli-main';

void runCli(process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
}).then((code) => {
  process.exitCode = code;
});

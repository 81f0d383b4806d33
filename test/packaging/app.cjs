// Packaging check from a CommonJS app: the SDK and the library are loaded with require().
// require('@anthropic-ai/sdk') is the SDK's factory function, not the class (even the SDK's own
// client is not `instanceof` it), so the class is its `.Anthropic`; the error classes hang off both.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS app: require() is what is tested */
const sdk = require('@anthropic-ai/sdk');
const { ResilientClaude } = require('resilient-claude');
const { FakeAnthropicServer } = require('resilient-claude/testing');

import('./checks.mjs').then(({ runChecks }) =>
  runChecks({ label: 'cjs', version: process.argv[2], Anthropic: sdk.Anthropic, ResilientClaude, FakeAnthropicServer }),
);

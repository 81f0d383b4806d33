// Packaging check from an ES module app: the SDK and the library are loaded with import.
import Anthropic from '@anthropic-ai/sdk';
import { ResilientClaude } from 'resilient-claude';
import { FakeAnthropicServer } from 'resilient-claude/testing';
import { runChecks } from './checks.mjs';

await runChecks({ label: 'esm', version: process.argv[2], Anthropic, ResilientClaude, FakeAnthropicServer });

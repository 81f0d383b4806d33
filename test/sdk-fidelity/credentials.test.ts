/**
 * Token credentials keep working under our retry ownership (catalogue §3.3, §3.2 "credential token-exchange
 * requests"; F6, R15, R19): the SDK's one-shot token refresh after a 401 still happens, exactly once per
 * call, and the extra SDK pass we allow for it never adds a second round of retries.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { APIConnectionError, AuthenticationError, InternalServerError, type Middleware } from '@anthropic-ai/sdk';
import { OAUTH_API_BETA_HEADER, WorkloadIdentityError } from '@anthropic-ai/sdk/lib/credentials/types';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ResilientClaude, type ResilientClaudeOptions } from '../../src';
import { apiError, header, isolateEnv, json, MESSAGE, PARAMS, rejectionOf } from './helpers';

isolateEnv();

let configDir: string;
beforeEach(() => {
  // Never read the developer's own ~/.config/anthropic: every test sees an empty config directory.
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-sdk-fidelity-'));
  process.env['ANTHROPIC_CONFIG_DIR'] = configDir;
});
afterEach(() => {
  fs.rmSync(configDir, { recursive: true, force: true });
});

const farFuture = () => Math.floor(Date.now() / 1000) + 3600;

/** A `credentials` provider handing out tok-1, tok-2, … and counting its calls. */
function tokenProvider() {
  const state = { calls: 0 };
  const provider = async () => {
    state.calls++;
    return { token: `tok-${state.calls}`, expiresAt: farFuture() };
  };
  return { provider, state };
}

function tokenClient(options: ResilientClaudeOptions): ResilientClaude {
  return new ResilientClaude({ apiKey: null, logger: false, retry: { baseDelayMs: 1 }, ...options });
}

const unauthorized = () => apiError(401, 'authentication_error');

describe('bearer credentials', () => {
  test('a credentials provider is used for bearer auth, with the OAuth beta header', async () => {
    let seen: RequestInit | undefined;
    const client = tokenClient({
      credentials: async () => ({ token: 'my-access-token', expiresAt: farFuture() }),
      fetch: async (_url, init) => {
        seen = init;
        return json(MESSAGE);
      },
    });
    await client.messages.create(PARAMS);
    expect(header(seen, 'authorization')).toBe('Bearer my-access-token');
    expect(header(seen, 'anthropic-beta')).toContain(OAUTH_API_BETA_HEADER);
  });

  test('withOptions() propagates the credentials provider to the clone', () => {
    const { provider } = tokenProvider();
    const client = tokenClient({ credentials: provider, fetch: async () => json(MESSAGE) });
    const copy = client.withOptions({ timeout: 5000 });
    expect(copy.credentials).toBe(provider);
    expect(copy).toBeInstanceOf(ResilientClaude);
  });

  test('with no way to authenticate, the call fails with the SDK message', async () => {
    const client = new ResilientClaude({ logger: false, fetch: async () => json({}) });
    const error = await rejectionOf(client.messages.create(PARAMS));
    expect(String(error.message)).toContain('Could not resolve authentication method');
  });

  test('a lazy credential resolution error surfaces on the first call, with no unhandled rejection', async () => {
    fs.mkdirSync(path.join(configDir, 'configs'), { recursive: true });
    fs.writeFileSync(path.join(configDir, 'configs', 'default.json'), JSON.stringify({ authentication: { type: 'mystery' } }));
    const rejections: unknown[] = [];
    const onUnhandled = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const client = new ResilientClaude({ logger: false, fetch: async () => json({}) });
      await new Promise((resolve) => setImmediate(resolve));
      expect(rejections).toEqual([]);
      const error = await rejectionOf(client.messages.create(PARAMS));
      expect(String(error.message)).toContain('not a known authentication type');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('token refresh after a 401 (F6, R19)', () => {
  test('a 401 refreshes the token once and the call succeeds: provider called twice, 2 fetches', async () => {
    const { provider, state } = tokenProvider();
    const auths: Array<string | null> = [];
    const counts: Array<string | null> = [];
    const client = tokenClient({
      maxRetries: 1,
      credentials: provider,
      fetch: async (_url, init) => {
        auths.push(header(init, 'authorization'));
        counts.push(header(init, 'x-stainless-retry-count'));
        return header(init, 'authorization') === 'Bearer tok-1' ? unauthorized() : json(MESSAGE);
      },
    });
    const message = await client.messages.create(PARAMS);
    expect(message.id).toBe(MESSAGE.id);
    expect(state.calls).toBe(2);
    expect(auths).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    expect(counts).toEqual(['0', '1']);
  });

  test('the refresh happens at most once per call, whatever maxRetries is', async () => {
    const { provider, state } = tokenProvider();
    let fetches = 0;
    const client = tokenClient({
      maxRetries: 5,
      credentials: provider,
      fetch: async () => {
        fetches++;
        return unauthorized();
      },
    });
    expect(await rejectionOf(client.messages.create(PARAMS))).toBeInstanceOf(AuthenticationError);
    expect(state.calls).toBe(2);
    expect(fetches).toBe(2);
  });

  test('the refresh flag resets between two calls that share one options object', async () => {
    const { provider, state } = tokenProvider();
    let fetches = 0;
    const client = tokenClient({
      maxRetries: 5,
      credentials: provider,
      fetch: async () => (++fetches <= 2 ? unauthorized() : json(MESSAGE)),
    });
    const shared = { method: 'post' as const, path: '/v1/messages', body: PARAMS };

    await expect(client.request(shared)).rejects.toThrow();
    expect(state.calls).toBe(2);

    fetches = 0;
    await expect(client.request(shared)).rejects.toThrow();
    expect(state.calls).toBe(3);
    expect(shared).toEqual({ method: 'post', path: '/v1/messages', body: PARAMS });
  });
});

describe('the SDK pass kept for the refresh adds no retries (F6, R19)', () => {
  test.each([
    [0, 1],
    [1, 2],
    [2, 3],
  ])('maxRetries %s, a 500 every time: %s fetches in total (1 + our retries), token fetched once', async (maxRetries, expected) => {
    const { provider, state } = tokenProvider();
    let fetches = 0;
    const client = tokenClient({
      maxRetries,
      credentials: provider,
      fetch: async () => {
        fetches++;
        return apiError(500);
      },
    });
    expect(await rejectionOf(client.messages.create(PARAMS))).toBeInstanceOf(InternalServerError);
    expect(fetches).toBe(expected);
    expect(state.calls).toBe(1);
  });

  test('a 429 with a retry hint on every attempt: 1 + maxRetries fetches', async () => {
    const { provider } = tokenProvider();
    let fetches = 0;
    const client = tokenClient({
      maxRetries: 2,
      credentials: provider,
      fetch: async () => {
        fetches++;
        return apiError(429, 'rate_limit_error', { 'retry-after-ms': '1' });
      },
    });
    await rejectionOf(client.messages.create(PARAMS));
    expect(fetches).toBe(3);
  });

  test('a connection error on every attempt: 1 + maxRetries fetches, then APIConnectionError', async () => {
    const { provider } = tokenProvider();
    let fetches = 0;
    const client = tokenClient({
      maxRetries: 1,
      credentials: provider,
      fetch: async () => {
        fetches++;
        throw new TypeError('fetch failed');
      },
    });
    expect(await rejectionOf(client.messages.create(PARAMS))).toBeInstanceOf(APIConnectionError);
    expect(fetches).toBe(2);
  });

  test('a timeout on every attempt: 1 + maxRetries fetches', async () => {
    const { provider } = tokenProvider();
    let fetches = 0;
    const client = tokenClient({
      maxRetries: 1,
      timeout: 10,
      credentials: provider,
      fetch: (_url, init) => {
        fetches++;
        return new Promise((_resolve, reject) =>
          init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), { once: true }),
        );
      },
    });
    const error = await rejectionOf(client.messages.create(PARAMS));
    expect(error.constructor.name).toBe('APIConnectionTimeoutError');
    expect(fetches).toBe(2);
  });
});

describe('credential token exchange (R15)', () => {
  const oidcConfig = {
    organization_id: 'org-123',
    authentication: { type: 'oidc_federation' as const, federation_rule_id: 'fdrl_01abc' },
  };
  const exchangeFetch = async (url: string | URL | Request) =>
    String(url).includes('/v1/oauth/token') ? json({ access_token: 'minted-token', expires_in: 3600 }) : json();

  beforeEach(() => {
    process.env['ANTHROPIC_IDENTITY_TOKEN'] = 'my-jwt';
  });

  test('goes through client middleware with no ctx.options, then the API call carries the minted token', async () => {
    const seen: string[] = [];
    let apiAuth: string | null = null;
    const middleware: Middleware = async (request, next, ctx) => {
      if (request.url.includes('/v1/oauth/token')) expect(ctx.options).toBeUndefined();
      else {
        expect(ctx.options).toMatchObject({ path: '/foo' });
        apiAuth = request.headers.get('authorization');
      }
      seen.push(`${request.method} ${request.url}`);
      return next(request);
    };
    const client = new ResilientClaude({ apiKey: null, authToken: null, logger: false, config: oidcConfig, fetch: exchangeFetch, middleware: [middleware] });
    expect(await client.request({ path: '/foo', method: 'get' })).toEqual({ a: 1 });
    expect(seen).toEqual(['POST https://api.anthropic.com/v1/oauth/token', 'GET https://api.anthropic.com/foo']);
    expect(apiAuth).toBe('Bearer minted-token');
  });

  test('a middleware error during the exchange surfaces as WorkloadIdentityError', async () => {
    const client = new ResilientClaude({
      apiKey: null,
      authToken: null,
      logger: false,
      config: oidcConfig,
      fetch: exchangeFetch,
      middleware: [
        async () => {
          throw new Error('boom from middleware');
        },
      ],
    });
    const error = await rejectionOf(client.request({ path: '/foo', method: 'get' }));
    expect(error).toBeInstanceOf(WorkloadIdentityError);
    expect(error.message).toMatch(/Failed to reach token endpoint/);
    expect(error.message).toMatch(/boom from middleware/);
  });

  test('a withOptions() clone created before resolution settles shares the one exchange', async () => {
    let exchanges = 0;
    const client = new ResilientClaude({
      apiKey: null,
      authToken: null,
      logger: false,
      config: oidcConfig,
      fetch: async (url, init) => {
        if (String(url).includes('/v1/oauth/token')) {
          exchanges++;
          return json({ access_token: 'shared-tok', expires_in: 3600 });
        }
        expect(header(init, 'authorization')).toBe('Bearer shared-tok');
        return json(MESSAGE);
      },
    });
    const clone = client.withOptions({ timeout: 5000 });
    await Promise.all([client.messages.create(PARAMS), clone.messages.create(PARAMS)]);
    expect(exchanges).toBe(1);
    expect(clone.credentials).toBe(client.credentials);
  });
});

describe('profile base_url precedence (R1: we never set baseURL ourselves)', () => {
  function writeProfile(baseUrl?: string) {
    fs.mkdirSync(path.join(configDir, 'configs'), { recursive: true });
    fs.mkdirSync(path.join(configDir, 'credentials'), { recursive: true });
    fs.writeFileSync(
      path.join(configDir, 'configs', 'default.json'),
      JSON.stringify({ ...(baseUrl ? { base_url: baseUrl } : {}), authentication: { type: 'user_oauth' } }),
    );
    fs.writeFileSync(path.join(configDir, 'credentials', 'default.json'), JSON.stringify({ access_token: 'tok', expires_at: farFuture() }), {
      mode: 0o600,
    });
  }

  function hostRecorder() {
    const hosts: string[] = [];
    const fetch = async (url: string | URL | Request) => {
      hosts.push(new URL(String(url)).host);
      return json(MESSAGE);
    };
    return { hosts, fetch };
  }

  test('a profile base_url is used for requests and becomes client.baseURL', async () => {
    writeProfile('https://staging.example.com');
    const { hosts, fetch } = hostRecorder();
    const client = new ResilientClaude({ logger: false, fetch });
    await client.messages.create(PARAMS);
    expect(hosts).toEqual(['staging.example.com']);
    expect(client.baseURL).toBe('https://staging.example.com');
  });

  test('a clone made before lazy resolution adopts the profile host too', async () => {
    writeProfile('https://staging.example.com');
    const { hosts, fetch } = hostRecorder();
    const parent = new ResilientClaude({ logger: false, fetch });
    const clone = parent.withOptions({ timeout: 5000 });
    await parent.messages.create(PARAMS);
    await clone.messages.create(PARAMS);
    expect(hosts).toEqual(['staging.example.com', 'staging.example.com']);
    expect(clone.baseURL).toBe('https://staging.example.com');
  });

  test('ANTHROPIC_BASE_URL and an explicit baseURL still win over the profile', async () => {
    writeProfile('https://profile.example.com');
    const fromOption = hostRecorder();
    await new ResilientClaude({ logger: false, baseURL: 'https://opt.example.com', fetch: fromOption.fetch }).messages.create(PARAMS);
    expect(fromOption.hosts).toEqual(['opt.example.com']);

    process.env['ANTHROPIC_BASE_URL'] = 'https://env.example.com';
    const fromEnv = hostRecorder();
    await new ResilientClaude({ logger: false, fetch: fromEnv.fetch }).messages.create(PARAMS);
    expect(fromEnv.hosts).toEqual(['env.example.com']);
  });

  test('without a profile base_url the default host is used', async () => {
    writeProfile();
    const { hosts, fetch } = hostRecorder();
    const client = new ResilientClaude({ logger: false, fetch });
    await client.messages.create(PARAMS);
    expect(hosts).toEqual(['api.anthropic.com']);
    expect(client.baseURL).toBe('https://api.anthropic.com');
  });
});

/**
 * Lua shared by every bucket script: load the scope's hash, re-seed what is missing, refill on the
 * Redis server's clock, and a `save()` that writes everything back and refreshes the expiry.
 *
 * Calling convention of every script:
 * - `KEYS[1]`: the scope's hash (`<prefix>{<scope>}:b`).
 * - `ARGV[1]`: key expiry, ms (refreshed on every use).
 * - `ARGV[2..10]`: the caller's seed, per dimension (requests, input, output): capacity (`-1` = not
 *   accounted), refill per ms, level. Used when the hash or a dimension is missing (Redis restart
 *   without persistence, FLUSHDB, eviction, expiry), or when the stored dimension is not accounted
 *   and the caller's is. So a lost key costs nothing but a re-seed from the caller's last learned
 *   limits: no error, ever.
 * - `ARGV[11..]`: script-specific.
 *
 * Hash fields: `c1 r1 l1 c2 r2 l2 c3 r3 l3` (capacity, rate/ms, level per dimension), `t` (server ms
 * of the last refill), `p` (paused until, server ms), `u1 u2 u3` (demand of calls admitted by processes
 * that did not know the limits yet and still in flight; see `STARTUP_SCRIPT`).
 *
 * When a dimension becomes accounted (seeded from a caller that knows it), its level is lowered by that
 * unaccounted demand: the caller's `remaining` cannot include other processes' calls still on the wire.
 *
 * Time is `redis.call('TIME')`, so processes with skewed clocks agree (scripts are replicated by
 * effects, the default since Redis 5, so reading TIME before writing is allowed).
 *
 * @module
 */

/** @internal */
export const PRELUDE = `
local key = KEYS[1]
local ttl = tonumber(ARGV[1])
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + tonumber(tm[2]) / 1000
local h = redis.call('HMGET', key, 'c1', 'r1', 'l1', 'c2', 'r2', 'l2', 'c3', 'r3', 'l3', 't', 'p', 'u1', 'u2', 'u3')
local function unaccounted(d) return math.max(0, tonumber(h[11 + d]) or 0) end
local cap, rate, lvl = {}, {}, {}
local seeded = false
local last = tonumber(h[10])
for d = 1, 3 do
  local b = (d - 1) * 3
  local c = tonumber(h[b + 1])
  local sc = tonumber(ARGV[2 + b])
  if c == nil or last == nil or (c < 0 and sc >= 0) then
    cap[d] = sc
    rate[d] = tonumber(ARGV[3 + b])
    lvl[d] = tonumber(ARGV[4 + b])
    if sc >= 0 and lvl[d] > sc then lvl[d] = sc end
    if sc >= 0 then lvl[d] = lvl[d] - unaccounted(d) end
    seeded = true
  else
    cap[d] = c
    rate[d] = tonumber(h[b + 2]) or 0
    lvl[d] = tonumber(h[b + 3]) or 0
  end
end
local paused = tonumber(h[11]) or 0
if last ~= nil and now > last then
  local dt = now - last
  for d = 1, 3 do
    if cap[d] >= 0 and lvl[d] < cap[d] then
      lvl[d] = math.min(cap[d], lvl[d] + dt * rate[d])
    end
  end
end
local function fmt(x)
  return string.format('%.17g', x)
end
local function save()
  redis.call('HSET', key,
    'c1', fmt(cap[1]), 'r1', fmt(rate[1]), 'l1', fmt(lvl[1]),
    'c2', fmt(cap[2]), 'r2', fmt(rate[2]), 'l2', fmt(lvl[2]),
    'c3', fmt(cap[3]), 'r3', fmt(rate[3]), 'l3', fmt(lvl[3]),
    't', fmt(now), 'p', fmt(paused))
  redis.call('PEXPIRE', key, ttl)
end
`;

/*
 * Atomic budget scripts for Redis (Lua 5.1, run with EVALSHA).
 *
 * Units. Lua numbers are doubles (exact integers only up to 2^53), and `tostring` of a large double may
 * switch to exponent notation. So amounts never pass through Lua arithmetic into stored values:
 *   - amounts are split by the client into nano-dollars (`n`, 1e-9 USD, exact in a double up to $9M)
 *     and a femto remainder (`f`, 0..999,999 per operation);
 *   - stored counters change only through HINCRBY with the client's decimal strings (int64 in Redis);
 *   - comparisons read counters with tonumber() and use spent = n + ceil(f / 1e6) (over-counting by
 *     < 1 nano-dollar: conservative); reservations are rounded up to whole nano-dollars and limits down.
 *
 * Keys (one window of one budget; the braces are a cluster hash tag so all three share a slot):
 *   KEYS[1] <prefix>{budget:<name>:<windowStart>}       hash: g:sn g:sf g:rn g:w, u:<user>:sn|sf|rn|w
 *   KEYS[2] <prefix>{budget:<name>:<windowStart>}:res   hash: reservation id → "<state>|<n>|<user>"
 *                                                       state h = held, x = expired (released by the
 *                                                       sweep; a late settle still adds its spend), d = done
 *   KEYS[3] <prefix>{budget:<name>:<windowStart>}:exp   zset: held reservation id → expiry (epoch ms)
 * Every write refreshes a relative PEXPIRE (window end − now + grace), computed by the client.
 *
 * Contributions (surviving a Redis that lost its data). Each process (budget manager instance) also
 * keeps its own running total in the window hash, field `p:<pid>` (whole nano-dollars, each amount
 * rounded up), and passes to every script the total it knows it spent in the window (`mine`: confirmed
 * Redis writes plus spend settled locally while Redis was down). When Redis has less for the process
 * than it knows — a restart without persistence, a failover to an empty replica, spend made during an
 * outage — the script first adds the difference to the global spend. `mine` only grows on confirmed
 * writes, so the correction never counts a write twice; it converges after one more script of that
 * process. Per-user figures are not restored this way (the global limit is).
 */

const PRELUDE = `
local state, res, exp = KEYS[1], KEYS[2], KEYS[3]
local function num(f) return tonumber(redis.call('HGET', state, f) or '0') or 0 end
local function spent(p) return num(p .. 'sn') + math.ceil(num(p .. 'sf') / 1000000) end
local function touch(ttl)
  redis.call('PEXPIRE', state, ttl)
  redis.call('PEXPIRE', res, ttl)
  redis.call('PEXPIRE', exp, ttl)
end
local function reconcile(pid, mine, ttl)
  if pid == '' then return end
  local f = 'p:' .. pid
  local have, want = num(f), tonumber(mine) or 0
  if have < want then
    redis.call('HINCRBY', state, 'g:sn', string.format('%d', want - have))
    redis.call('HSET', state, f, mine)
    redis.call('PEXPIRE', state, ttl)
  end
end
local function contribute(pid, n)
  if pid ~= '' and n ~= '0' then redis.call('HINCRBY', state, 'p:' .. pid, n) end
end
-- Adds settled spend to a party ('g:' or 'u:<user>:'); 1 when this write first crossed warn_at (-1 = never).
local function add_spend(p, n, f, warn_at)
  redis.call('HINCRBY', state, p .. 'sn', n)
  redis.call('HINCRBY', state, p .. 'sf', f)
  if warn_at >= 0 and spent(p) >= warn_at and redis.call('HSETNX', state, p .. 'w', '1') == 1 then return 1 end
  return 0
end
-- The reply of settle and charge: {1, warn_global, warn_user, g_sn, g_sf, g_rn, u_sn, u_sf}.
local function spend_reply(wg, wu, u)
  local us, uf = 0, 0
  if u ~= '' then us, uf = num('u:' .. u .. ':sn'), num('u:' .. u .. ':sf') end
  return {1, wg, wu, num('g:sn'), num('g:sf'), num('g:rn'), us, uf}
end
local function unhold(id, v)
  local st, rn, u = string.match(v, '^(%a)|(%d+)|(.*)$')
  if st == 'h' then
    -- (Redis rejects "-0" as an integer, so a zero reservation is not decremented.)
    if rn ~= '0' then
      redis.call('HINCRBY', state, 'g:rn', '-' .. rn)
      if u ~= '' then redis.call('HINCRBY', state, 'u:' .. u .. ':rn', '-' .. rn) end
    end
    redis.call('ZREM', exp, id)
  end
  return st, rn, u
end
`;

/**
 * Reserve. ARGV: id, user ('' = none), req_n, limit_n, user_limit_n (-1 = none), now, expires_at, ttl_ms,
 * pid, mine_n. First reconciles the process's contributions (see above), then releases up to 100 held reservations whose expiry passed (crashed callers), marking them `x`.
 * Returns {1, g_sn, g_sf, g_rn} on success (idempotent for a repeated id), or
 * {0, scope (1 global, 2 user), sn, sf, rn} when spent + reserved + req would exceed the limit.
 */
export const RESERVE_LUA = `${PRELUDE}
local id, user = ARGV[1], ARGV[2]
local req, limit, ulimit, now = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
reconcile(ARGV[9], ARGV[10], ARGV[8])
local expired = redis.call('ZRANGEBYSCORE', exp, '-inf', now, 'LIMIT', 0, 100)
for _, eid in ipairs(expired) do
  local v = redis.call('HGET', res, eid)
  if v then
    local st, rn, u = unhold(eid, v)
    if st == 'h' then redis.call('HSET', res, eid, 'x|' .. rn .. '|' .. u) end
  end
  redis.call('ZREM', exp, eid)
end
if redis.call('HEXISTS', res, id) == 1 then
  return {1, num('g:sn'), num('g:sf'), num('g:rn')}
end
if spent('g:') + num('g:rn') + req > limit then
  return {0, 1, num('g:sn'), num('g:sf'), num('g:rn')}
end
if user ~= '' and ulimit >= 0 then
  local p = 'u:' .. user .. ':'
  if spent(p) + num(p .. 'rn') + req > ulimit then
    return {0, 2, num(p .. 'sn'), num(p .. 'sf'), num(p .. 'rn')}
  end
  redis.call('HINCRBY', state, p .. 'rn', ARGV[3])
else
  user = ''
end
redis.call('HINCRBY', state, 'g:rn', ARGV[3])
redis.call('HSET', res, id, 'h|' .. ARGV[3] .. '|' .. user)
redis.call('ZADD', exp, ARGV[7], id)
touch(ARGV[8])
return {1, num('g:sn'), num('g:sf'), num('g:rn')}
`;

/**
 * Settle or release. ARGV: id, mode ('settle' | 'release'), actual_n, actual_f, warn_n, user_warn_n
 * (-1 = none), ttl_ms, pid, mine_n, contribution_n (actual rounded up to nano-dollars). Exactly once: a
 * reservation in state `d` returns {0}, as does releasing an unknown one. Settling an unknown reservation
 * (Redis lost it) still adds the spend: a settlement is never dropped.
 * Returns {1, warn_global (0/1), warn_user (0/1), g_sn, g_sf, g_rn, u_sn, u_sf} — a warn flag is 1 only in
 * the one call (cluster-wide) whose settlement first reached the threshold in this window.
 */
export const SETTLE_LUA = `${PRELUDE}
local id, mode = ARGV[1], ARGV[2]
reconcile(ARGV[8], ARGV[9], ARGV[7])
local v = redis.call('HGET', res, id)
if not v then
  if mode ~= 'settle' then return {0} end
  -- 'n': not known here (lost with Redis's data); nothing held to give back, the spend still counts.
  v = 'n|0|'
end
local st, rn, u = unhold(id, v)
if st == 'd' then return {0} end
redis.call('HSET', res, id, 'd|' .. rn .. '|' .. u)
local wg, wu = 0, 0
if mode == 'settle' then
  contribute(ARGV[8], ARGV[10])
  wg = add_spend('g:', ARGV[3], ARGV[4], tonumber(ARGV[5]))
  if u ~= '' then wu = add_spend('u:' .. u .. ':', ARGV[3], ARGV[4], tonumber(ARGV[6])) end
end
touch(ARGV[7])
return spend_reply(wg, wu, u)
`;

/**
 * Charge spend without a reservation (spend made while Redis was unreachable, or ungated calls).
 * ARGV: actual_n, actual_f, user ('' = none; only tracked when per-user limits exist), warn_n,
 * user_warn_n (-1 = none), ttl_ms, pid, mine_n, contribution_n. A zero charge only reconciles.
 * Returns {1, warn_global, warn_user, g_sn, g_sf, g_rn, u_sn, u_sf}.
 */
export const CHARGE_LUA = `${PRELUDE}
local u = ARGV[3]
local wg, wu = 0, 0
reconcile(ARGV[7], ARGV[8], ARGV[6])
contribute(ARGV[7], ARGV[9])
wg = add_spend('g:', ARGV[1], ARGV[2], tonumber(ARGV[4]))
if u ~= '' then wu = add_spend('u:' .. u .. ':', ARGV[1], ARGV[2], tonumber(ARGV[5])) end
touch(ARGV[6])
return spend_reply(wg, wu, u)
`;

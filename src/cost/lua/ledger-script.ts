/*
 * Shared ledger aggregation (Lua 5.1, run with EVALSHA): one call adds one priced request to three
 * hashes atomically, with HINCRBY on integer strings computed by the client (never Lua doubles).
 *
 *   KEYS[1] <prefix>ledger:<name>:life              lifetime (no expiry)
 *   KEYS[2] <prefix>ledger:<name>:d:<YYYY-MM-DD>    UTC day  (expires after the configured retention)
 *   KEYS[3] <prefix>ledger:<name>:m:<YYYY-MM>       UTC month (expires after the configured retention)
 *
 * Fields of each hash:
 *   n f req in out cr cw         total: USD as nano-dollars + femto remainder, requests, token counts
 *   sn sf                        saved against standard prices (batched calls), as n f; absent when 0
 *   m:<model>:{n,f,sn,sf,req,in,out,cr,cw}, u:<user>:{n,f,sn,sf,req}, t:<tag>:{n,f,sn,sf,req}
 *   #m #u #t                     distinct names held; past the cap a name is folded into '(other)'
 *   first (life only)            earliest call time seen (epoch ms), to tell when lifetime is exact
 *
 * ARGV: model, user ('' = none), n, f, in, out, cr, cw, at, day_ttl_ms, month_ttl_ms, cap_models,
 *       cap_users, cap_tags, saved_n, saved_f, tag1, tag2, …
 */
export const LEDGER_RECORD_LUA = `
local model, user = ARGV[1], ARGV[2]
local caps = { m = tonumber(ARGV[12]), u = tonumber(ARGV[13]), t = tonumber(ARGV[14]) }
local saved = ARGV[15] ~= '0' or ARGV[16] ~= '0'
local function money(key, p)
  redis.call('HINCRBY', key, p .. 'n', ARGV[3])
  redis.call('HINCRBY', key, p .. 'f', ARGV[4])
  if saved then
    redis.call('HINCRBY', key, p .. 'sn', ARGV[15])
    redis.call('HINCRBY', key, p .. 'sf', ARGV[16])
  end
  redis.call('HINCRBY', key, p .. 'req', 1)
end
local function slot(key, kind, name)
  if redis.call('HEXISTS', key, kind .. ':' .. name .. ':req') == 1 then return name end
  local count = tonumber(redis.call('HGET', key, '#' .. kind) or '0')
  if count < caps[kind] then
    redis.call('HINCRBY', key, '#' .. kind, 1)
    return name
  end
  return '(other)'
end
for i, key in ipairs(KEYS) do
  money(key, '')
  redis.call('HINCRBY', key, 'in', ARGV[5])
  redis.call('HINCRBY', key, 'out', ARGV[6])
  redis.call('HINCRBY', key, 'cr', ARGV[7])
  redis.call('HINCRBY', key, 'cw', ARGV[8])
  local p = 'm:' .. slot(key, 'm', model) .. ':'
  money(key, p)
  redis.call('HINCRBY', key, p .. 'in', ARGV[5])
  redis.call('HINCRBY', key, p .. 'out', ARGV[6])
  redis.call('HINCRBY', key, p .. 'cr', ARGV[7])
  redis.call('HINCRBY', key, p .. 'cw', ARGV[8])
  if user ~= '' then
    p = 'u:' .. slot(key, 'u', user) .. ':'
    money(key, p)
  end
  for j = 17, #ARGV do
    p = 't:' .. slot(key, 't', ARGV[j]) .. ':'
    money(key, p)
  end
  if i == 1 then
    local first = redis.call('HGET', key, 'first')
    if not first or tonumber(ARGV[9]) < tonumber(first) then redis.call('HSET', key, 'first', ARGV[9]) end
  elseif i == 2 then
    redis.call('PEXPIRE', key, ARGV[10])
  else
    redis.call('PEXPIRE', key, ARGV[11])
  end
end
return 1
`;

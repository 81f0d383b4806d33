import { PRELUDE } from './prelude';

/**
 * Reserve all three dimensions or none, atomically.
 *
 * `ARGV[11..13]`: demand (requests, input, output). Returns:
 * - `{1}`: reserved;
 * - `{0, waitMs, reason}`: not now; `waitMs` = ms until it would fit with no other traffic (`-1` if
 *   a bucket does not refill), `reason` 0 = paused (429), 1..3 = the dimension that is short longest;
 * - `{-1, dimension, capacity}`: the demand exceeds that bucket's capacity (can never fit).
 *
 * A demand of 0 in a dimension is never blocked by it, even in debt.
 *
 * @internal
 */
export const RESERVE_SCRIPT = `${PRELUDE}
local need = { tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13]) }
if paused > now then
  if seeded then save() end
  return { 0, math.ceil(paused - now), 0 }
end
for d = 1, 3 do
  if cap[d] >= 0 and need[d] > cap[d] then
    if seeded then save() end
    return { -1, d, fmt(cap[d]) }
  end
end
local wait, reason = 0, 0
for d = 1, 3 do
  if cap[d] >= 0 and need[d] > 0 and need[d] - lvl[d] > 1e-9 * math.max(1, need[d]) then
    local w = -1
    if rate[d] > 0 then w = (need[d] - lvl[d]) / rate[d] end
    if w < 0 then
      wait, reason = -1, d
      break
    end
    if w > wait then wait, reason = w, d end
  end
end
if reason ~= 0 then
  save()
  if wait < 0 then return { 0, -1, reason } end
  return { 0, math.ceil(wait), reason }
end
for d = 1, 3 do
  if cap[d] >= 0 then lvl[d] = lvl[d] - need[d] end
end
save()
return { 1 }
`;

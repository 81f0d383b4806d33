import { PRELUDE } from './prelude';

/**
 * Apply settings learned from response headers.
 *
 * `ARGV[11..22]`: per dimension, 4 values: present (1/0), capacity, refill per ms, level ceiling
 * (server `remaining` minus the caller's unseen reservations). A present dimension takes the new
 * capacity and rate; its level is clamped to the capacity and the ceiling (only ever lowered; a
 * dimension that was not accounted starts full less the unaccounted demand in flight, then is clamped).
 * Returns 1.
 *
 * @internal
 */
export const SYNC_SCRIPT = `${PRELUDE}
for d = 1, 3 do
  local b = 10 + (d - 1) * 4
  if ARGV[b + 1] == '1' then
    local c = tonumber(ARGV[b + 2])
    if cap[d] < 0 then lvl[d] = c - unaccounted(d) end
    cap[d] = c
    rate[d] = tonumber(ARGV[b + 3])
    lvl[d] = math.min(lvl[d], c, tonumber(ARGV[b + 4]))
  end
end
save()
return 1
`;

import { PRELUDE } from './prelude';

/**
 * Give back (positive) or charge (negative) per dimension, never above capacity.
 *
 * `ARGV[11..13]`: deltas (requests, input, output). If the hash had to be re-seeded, the caller's
 * seed already reflects the settlement, so the delta is not applied twice. Returns 1.
 *
 * @internal
 */
export const ADJUST_SCRIPT = `${PRELUDE}
if not seeded then
  for d = 1, 3 do
    local delta = tonumber(ARGV[10 + d])
    if cap[d] >= 0 and delta ~= 0 then
      lvl[d] = math.min(cap[d], lvl[d] + delta)
    end
  end
end
save()
return 1
`;

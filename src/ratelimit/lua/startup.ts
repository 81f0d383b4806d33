import { PRELUDE } from './prelude';

/**
 * Record demand admitted by a process that does not know the limits yet (`'auto'` mode before its
 * first rate-limit headers), or give it back when that call has been answered: `ARGV[11..13]` = signed
 * amounts per dimension, added to `u1 u2 u3`. The first process to learn the limits seeds the buckets
 * less this demand, which its own headers cannot show while those calls are still on the wire.
 * Returns 1.
 *
 * @internal
 */
export const STARTUP_SCRIPT = `${PRELUDE}
save()
for d = 1, 3 do
  local delta = ARGV[10 + d]
  if delta ~= '0' then redis.call('HINCRBYFLOAT', key, 'u' .. d, delta) end
end
return 1
`;

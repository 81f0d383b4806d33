import { PRELUDE } from './prelude';

/**
 * Pause the scope for everyone: `ARGV[11]` = duration in ms from now (server clock). A pause only
 * ever extends. Returns the remaining pause, ms.
 *
 * @internal
 */
export const PAUSE_SCRIPT = `${PRELUDE}
local until_ = now + tonumber(ARGV[11])
if until_ > paused then paused = until_ end
save()
return math.ceil(paused - now)
`;

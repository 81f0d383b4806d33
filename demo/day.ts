import { faults, type FakeAnthropicServer } from '../src/testing';

/** A phase of the compressed day, in seconds from the start of the run. */
export interface Phase {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly description: string;
}

/**
 * A realistic day compressed into 45 seconds. Rate limits hold all day (see `DAY_RATE_LIMITS`); on top:
 */
export const PHASES: readonly Phase[] = [
  { name: 'overload', from: 8, to: 15, description: 'a burst of 529 Overloaded on half the requests' },
  { name: 'outage', from: 20, to: 25, description: 'a full outage: every request gets 503' },
  { name: 'flaky streams', from: 28, to: 38, description: 'streams fail before their first token, or die mid-way' },
];

/** Length of the day, seconds. */
export const DAY_SECONDS = 45;

/**
 * The limits of each model for the day, on a 10-second window so that they bite in a short demo: the
 * morning rush asks one model for about 11 requests a second; it allows 5, with a burst of 50.
 */
export const DAY_RATE_LIMITS = { rpm: 50, itpm: 12_000, otpm: 8_000, windowMs: 10_000 } as const;

/**
 * Installs the day's faults on a fake server. `elapsed()` gives the seconds since the run started; the
 * faults are decided per request, so both runs of the demo live through the same day.
 */
export function scheduleDay(server: FakeAnthropicServer, elapsed: () => number): void {
  const during = (name: string) => {
    const phase = PHASES.find((p) => p.name === name)!;
    return () => {
      const t = elapsed();
      return t >= phase.from && t < phase.to;
    };
  };
  const outage = during('outage');
  const overload = during('overload');
  const flaky = during('flaky streams');
  server.inject(faults.unavailable(), { match: () => outage(), paths: ['/v1/*'] });
  server.inject(faults.overloaded(), { probability: 0.5, match: () => overload() });
  server.inject(faults.sseError(0), { probability: 0.3, match: () => flaky() });
  server.inject(faults.truncateStream(4), { probability: 0.15, match: () => flaky() });
  server.inject(faults.cutStream(4), { probability: 0.1, match: () => flaky() });
}

/** Whether a request reached the server during the outage. */
export function inOutage(secondsFromStart: number): boolean {
  const phase = PHASES.find((p) => p.name === 'outage')!;
  return secondsFromStart >= phase.from && secondsFromStart < phase.to;
}

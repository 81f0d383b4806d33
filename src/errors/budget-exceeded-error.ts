import { ResilientClaudeError } from './resilient-claude-error';

/** Which budget refused the call. */
export type BudgetScope = 'global' | 'user';

/** Facts carried by {@link BudgetExceededError}. */
export interface BudgetExceededDetails {
  /** The budget that would be passed. */
  readonly scope: BudgetScope;
  /** The user, for a per-user budget. */
  readonly user?: string;
  /** The budget's limit for the window, USD. */
  readonly limitUsd: number;
  /** Spend already settled in the window, USD. */
  readonly spentUsd: number;
  /** Held by calls in flight (reserved, not yet settled), USD. */
  readonly reservedUsd: number;
  /** This call's worst-case cost, USD. */
  readonly requestedUsd: number;
  /** Epoch ms when the window ends and the budget resets. */
  readonly windowResetAt: number;
  /** Milliseconds until `windowResetAt` (≥ 0). Capacity may come back sooner as calls in flight settle. */
  readonly retryAfterMs: number;
}

function usd(n: number): string {
  return `$${n.toFixed(n !== 0 && Math.abs(n) < 0.01 ? 6 : 2)}`;
}

/**
 * The call's worst-case cost does not fit in the remaining budget (spent + reserved + this call > limit),
 * globally or for its user. Thrown before anything is sent; no budget was consumed by the refusal.
 */
export class BudgetExceededError extends ResilientClaudeError implements BudgetExceededDetails {
  /** The budget that would be passed: `'global'` or `'user'`. */
  readonly scope: BudgetScope;
  /** The user, for a per-user budget. */
  readonly user?: string;
  /** The budget's limit for the window, USD. */
  readonly limitUsd: number;
  /** Spend already settled in the window, USD. */
  readonly spentUsd: number;
  /** Held by calls in flight, USD. */
  readonly reservedUsd: number;
  /** This call's worst-case cost, USD. */
  readonly requestedUsd: number;
  /** Epoch ms when the window ends and the budget resets. */
  readonly windowResetAt: number;
  /** Milliseconds until `windowResetAt`. */
  readonly retryAfterMs: number;

  constructor(details: BudgetExceededDetails) {
    // The user id is deliberately left out of the message (it is on `.user`): it is caller-controlled text
    // and must not be able to trip the SDK's /timed? ?out/i retry heuristic.
    const who = details.scope === 'user' ? 'per-user' : 'global';
    super(
      'BUDGET_EXCEEDED',
      `Cost budget (${who}) would be exceeded: spent ${usd(details.spentUsd)} + in flight ${usd(details.reservedUsd)} + ` +
        `this call's estimate ${usd(details.requestedUsd)} > limit ${usd(details.limitUsd)}; ` +
        `the window resets at ${new Date(details.windowResetAt).toISOString()}. No request was sent.`,
    );
    this.scope = details.scope;
    if (details.user !== undefined) this.user = details.user;
    this.limitUsd = details.limitUsd;
    this.spentUsd = details.spentUsd;
    this.reservedUsd = details.reservedUsd;
    this.requestedUsd = details.requestedUsd;
    this.windowResetAt = details.windowResetAt;
    this.retryAfterMs = details.retryAfterMs;
  }
}

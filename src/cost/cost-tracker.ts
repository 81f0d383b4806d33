import type { Redis } from 'ioredis';
import type { CallState, UsageTotals } from '../call-state';
import { batchSettings } from '../call-options';
import type { RecoveredBatchCall } from '../batch/batch-queue';
import { usageTotals } from './usage';
import {
  BudgetManager,
  callCost,
  CostLedger,
  PriceTable,
  RedisCostStore,
  SharedBudgetManager,
  worstCaseCost,
  type BudgetGate,
  type BudgetOptions,
  type BudgetState,
  type BudgetWarning,
  type CallCost,
  type CostStoreEvent,
  type CostSummary,
  type ModelTotals,
  type PartyTotals,
  type Reservation,
  type SummaryQuery,
  type UnknownModelInfo,
} from './index';
import { BudgetExceededError } from '../errors/budget-exceeded-error';
import type { EventHub } from '../events';
import type { CompletionHook } from '../call-outcome';
import type { CostOptions } from '../options/cost-options';
import type { LogSink } from '../logging';
import { estimateInputTokens } from '../ratelimit/estimate';
import { isMessagesCreate as isMessagesPath } from '../util/http';


/** Window of a cost query: the whole life (none), since an instant or for a duration, or the last `days`. */
export type CostQuery = { readonly sinceMs: number } | { readonly days: number };

/** `client.costs`: what the calls of this client (and its `withOptions()` clones) cost. */
export interface CostsView {
  /**
   * Totals with breakdowns by model, user and tag. `sinceMs` is the window's start as epoch ms; a value
   * below 10^11 (about three years) is read as a duration back from now, so `{ sinceMs: 60_000 }` means
   * "the last minute". `{ days: n }` is the last n × 24 h. No argument: the client's whole life.
   */
  summary(query?: CostQuery): CostSummary;
  /** `summary(query).byModel`. */
  byModel(query?: CostQuery): Record<string, ModelTotals>;
  /** `summary(query).byUser`. */
  byUser(query?: CostQuery): Record<string, PartyTotals>;
  /** `summary(query).totalUsd`. */
  total(query?: CostQuery): number;
  /** The budget's figures (global, and `user`'s with a per-user limit), or undefined without a budget. */
  budget(user?: string): BudgetState | undefined;
  /** With `redis`: the totals of every process sharing the store (day precision). */
  sharedSummary(query?: CostQuery): Promise<CostSummary>;
}

const DURATION_LIMIT_MS = 1e11;

/** Plain objects (the ledger builds prototype-less maps) so results print and compare as users expect. */
function plain<T extends object>(record: T): T {
  return Object.assign({}, record);
}

function plainSummary(summary: CostSummary): CostSummary {
  const byModel = Object.fromEntries(Object.entries(summary.byModel).map(([k, v]) => [k, plain(v)]));
  const byUser = Object.fromEntries(Object.entries(summary.byUser).map(([k, v]) => [k, plain(v)]));
  const byTag = Object.fromEntries(Object.entries(summary.byTag).map(([k, v]) => [k, plain(v)]));
  return { ...summary, byModel, byUser, byTag };
}

function costsView(ledger: CostLedger, budget: () => BudgetGate | undefined): CostsView {
  return {
    summary: (query) => plainSummary(ledger.summary(toQuery(query))),
    byModel: (query) => plainSummary(ledger.summary(toQuery(query))).byModel,
    byUser: (query) => plainSummary(ledger.summary(toQuery(query))).byUser,
    total: (query) => ledger.total(toQuery(query)),
    budget: (user) => budget()?.state(user),
    sharedSummary: async (query) => plainSummary(await ledger.sharedSummary(toQuery(query))),
  };
}

let disabledView: CostsView | undefined;

/** `client.costs` with `cost: false`: an always-empty ledger and no budget (one for every such client). */
export function disabledCostsView(): CostsView {
  disabledView ??= costsView(new CostLedger({ minuteBuckets: 1, hourBuckets: 1, dayBuckets: 1 }), () => undefined);
  return disabledView;
}

function toQuery(query: CostQuery | undefined): SummaryQuery | undefined {
  if (!query || !('sinceMs' in query)) return query;
  return query.sinceMs < DURATION_LIMIT_MS ? { sinceMs: Date.now() - query.sinceMs } : query;
}

/** Facts of a Messages request that pricing and budgets need. */
interface MessageParamsLike {
  model?: unknown;
  max_tokens?: unknown;
  speed?: unknown;
  inference_geo?: unknown;
}


/** The longest cache TTL a request asks for, if it asks for caching at all. */
function cacheTtlOf(params: unknown): '5m' | '1h' | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const json = JSON.stringify(params);
  if (!json.includes('"cache_control"')) return undefined;
  return /"cache_control":\{[^}]*"ttl":"1h"/.test(json) ? '1h' : '5m';
}

/** Calls whose input the estimate misjudges alike: by model, and whether tools are declared (server tools add input). */
function inputShape(params: unknown): string {
  const p = (typeof params === 'object' && params !== null ? params : {}) as { model?: unknown; tools?: unknown };
  return `${typeof p.model === 'string' ? p.model : '?'}|${Array.isArray(p.tools) && p.tools.length > 0 ? 'tools' : 'plain'}`;
}

/**
 * How far the API's actual input exceeded the local estimate, per call shape: the largest ratio among
 * the last {@link InputCorrection.WINDOW} calls of that shape (never below 1, at most 20). Budget
 * reservations multiply their input estimate by it, so calls that server tools or large documents
 * inflate are reserved for what they will really cost once one such call has been seen.
 */
class InputCorrection {
  static readonly WINDOW = 32;
  static readonly MAX = 20;
  readonly #ratios = new Map<string, number[]>();

  factor(shape: string): number {
    const ratios = this.#ratios.get(shape);
    return ratios ? Math.max(1, ...ratios) : 1;
  }

  learn(shape: string, estimated: number, actual: number): void {
    if (!(estimated > 0) || !(actual >= 0)) return;
    let ratios = this.#ratios.get(shape);
    if (!ratios) {
      // A bounded number of shapes: models × 2. Forget the oldest shape beyond that.
      if (this.#ratios.size >= 256) this.#ratios.delete(this.#ratios.keys().next().value!);
      this.#ratios.set(shape, (ratios = []));
    }
    ratios.push(Math.min(InputCorrection.MAX, actual / estimated));
    if (ratios.length > InputCorrection.WINDOW) ratios.shift();
  }
}

/** Whether a call is a Messages create (the only calls that produce billable usage directly). */
export function isMessagesCreate(state: CallState): boolean {
  return isMessagesPath(state.method, state.path);
}

/** Dependencies of the cost tracker. */
export interface CostTrackerDeps {
  readonly events: EventHub;
  readonly log: LogSink;
  readonly redis?: Redis | string;
  readonly redisPrefix?: string;
  readonly onRedisError?: 'local' | 'fail';
}

/**
 * Prices every completed Messages call from the response's model and usage, keeps the bounded ledger,
 * and holds budget reservations: reserved (worst case) before sending, settled to the actual cost after,
 * released when the call fails.
 */
export class CostTracker {
  #table: PriceTable | undefined;
  readonly #tableOptions: ConstructorParameters<typeof PriceTable>[0];
  readonly ledger: CostLedger;
  readonly budget: BudgetGate | undefined;
  readonly store: RedisCostStore | undefined;
  readonly #reservations = new WeakMap<CallState, Reservation>();
  readonly #estimates = new WeakMap<CallState, { shape: string; tokens: number }>();
  readonly #inputCorrection = new InputCorrection();
  readonly #deps: CostTrackerDeps;

  constructor(options: CostOptions, deps: CostTrackerDeps) {
    this.#deps = deps;
    const { events, log } = deps;
    this.#tableOptions = {
      prices: options.prices ?? [],
      onUnknownModel: (info: UnknownModelInfo) => {
        // A new model of a known line deserves a warning (add its prices); an id with no recognisable line
        // (a proxy alias, a test double) cannot be priced any better, so it is noted at info.
        log.log(info.line !== undefined ? 'warn' : 'info', { ...info }, 'unknown model priced by fallback');
        events.emit('unknownModel', info);
      },
    };
    // Custom rows are checked now (a wrong one is a ConfigError at construction); the table itself is
    // built when the first call is priced.
    if (options.prices?.length) this.#table = new PriceTable(this.#tableOptions);
    this.store = deps.redis
      ? new RedisCostStore({
          redis: deps.redis,
          ...(deps.redisPrefix ? { prefix: `${deps.redisPrefix}cost:` } : {}),
          onRedisError: deps.onRedisError ?? 'local',
          onEvent: (event: CostStoreEvent) => this.#onStoreEvent(event),
        })
      : undefined;
    this.ledger = new CostLedger({ ...options.ledger, ...(this.store ? { shared: this.store.ledger() } : {}) });
    if (options.budget) {
      const budgetOptions: BudgetOptions = {
        ...options.budget,
        budgetWarning: (warning: BudgetWarning) => {
          log.log('warn', { ...warning }, 'budget warning threshold reached');
          events.emit('budgetWarning', warning);
        },
      };
      this.budget = this.store ? new SharedBudgetManager(budgetOptions, this.store) : new BudgetManager(budgetOptions);
    }
  }

  /** The price table (built-in rows plus `cost.prices`). */
  get table(): PriceTable {
    this.#table ??= new PriceTable(this.#tableOptions);
    return this.#table;
  }

  /**
   * Reserves the call's worst-case cost. Throws `BudgetExceededError` (or rejects, with Redis) when it
   * does not fit. Synchronous with the in-memory budget. Returns nothing when there is no budget or
   * the call is not a Messages create.
   */
  reserve(state: CallState, params: unknown): Reservation | Promise<Reservation> | undefined {
    if (!this.budget || this.#reservations.has(state) || !isMessagesCreate(state)) return undefined;
    const p = (typeof params === 'object' && params !== null ? params : {}) as MessageParamsLike;
    // A prompt that asks for caching may be written to the cache, which costs more than plain input
    // (1.25× for 5 minutes, 2× for an hour): the worst case prices it at that rate.
    const cacheWriteTtl = cacheTtlOf(params);
    const shape = inputShape(params);
    const estimated = estimateInputTokens(params);
    this.#estimates.set(state, { shape, tokens: estimated });
    const worst = worstCaseCost(this.table, {
      model: typeof p.model === 'string' ? p.model : 'unknown',
      inputTokens: Math.ceil(estimated * this.#inputCorrection.factor(shape)),
      maxTokens: typeof p.max_tokens === 'number' ? p.max_tokens : 0,
      at: state.startedAtEpoch,
      speed: p.speed === 'fast' ? 'fast' : 'standard',
      inferenceGeo: typeof p.inference_geo === 'string' ? p.inference_geo : null,
      ...(cacheWriteTtl ? { cacheWriteTtl } : {}),
      ...(batchSettings(state.call) ? { batch: true } : {}),
    });
    const held = (reservation: Reservation) => {
      this.#reservations.set(state, reservation);
      return reservation;
    };
    const refused = (error: unknown): never => {
      this.#noteRefusal(error);
      throw error;
    };
    let reservation: Reservation | Promise<Reservation>;
    try {
      reservation = this.budget.reserve({ user: state.call.user ?? state.user ?? null, usd: worst });
    } catch (error) {
      return refused(error);
    }
    return reservation instanceof Promise ? reservation.then(held, refused) : held(reservation);
  }

  /** Completion hook: prices the call, records it in the ledger, settles or releases its reservation. */
  readonly hook: CompletionHook = (state, outcome, record) => {
    let cost: CallCost | undefined;
    // A stream that died or was aborted is still billed for what the server reported (input from
    // message_start) and generated (output so far): it is priced and charged like any call.
    if (outcome.usage && (outcome.ok || outcome.stream) && isMessagesCreate(state)) {
      const model = outcome.responseModel ?? state.model ?? 'unknown';
      const user = state.call.user ?? state.user;
      cost = this.#record({
        at: state.startedAtEpoch,
        model,
        user,
        tags: state.call.tags,
        usage: outcome.usage,
        batch: batchSettings(state.call) !== undefined,
      });
      record.costUsd = cost.usd;
      if (!outcome.ok) state.notes.billedPartial = true;
      if (outcome.outputEstimated) state.notes.outputEstimated = true;
      if (cost.approximate || outcome.outputEstimated) state.notes.costApproximate = true;
      if (this.#deps.events.has('cost')) {
        this.#deps.events.emit('cost', {
          callId: state.id,
          model,
          ...(user ? { user } : {}),
          ...(state.call.tags ? { tags: state.call.tags } : {}),
          usd: cost.usd,
          exactUsd: cost.exact,
          approximate: cost.approximate || outcome.outputEstimated === true,
          breakdown: cost.breakdown,
        });
      }
    }
    const estimate = this.#estimates.get(state);
    if (estimate && outcome.usage) {
      this.#estimates.delete(state);
      const u = outcome.usage;
      this.#inputCorrection.learn(estimate.shape, estimate.tokens, u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens);
    }
    const held = this.#reservations.get(state);
    if (held && this.budget) {
      this.#reservations.delete(state);
      const budget = this.budget;
      const done = cost ? budget.settle(held, cost) : budget.release(held);
      if (done instanceof Promise) done.catch((error: unknown) => this.#logError(error, 'budget settlement failed'));
    }
  };

  /**
   * Prices one call and records it in the ledger. A batched call is priced at the batch rate, and what it
   * saved against the standard price is recorded beside it.
   */
  #record(call: {
    readonly at: number;
    readonly model: string;
    readonly user: string | undefined;
    readonly tags: readonly string[] | undefined;
    readonly usage: UsageTotals;
    readonly batch: boolean;
  }): CallCost {
    const raw = call.usage.raw;
    const cost = callCost(this.table, { model: call.model, usage: raw, at: call.at, ...(call.batch ? { batch: true } : {}) });
    const batched = call.batch || raw.service_tier === 'batch';
    const standard = batched ? callCost(this.table, { model: call.model, usage: { ...raw, service_tier: 'standard' }, at: call.at }) : undefined;
    this.ledger.record({
      at: call.at,
      model: call.model,
      ...(call.user ? { user: call.user } : {}),
      ...(call.tags ? { tags: call.tags } : {}),
      inputTokens: call.usage.inputTokens,
      outputTokens: call.usage.outputTokens,
      cacheReadTokens: call.usage.cacheReadTokens,
      cacheWriteTokens: call.usage.cacheWriteTokens,
      cost,
      ...(standard ? { standardCost: standard } : {}),
    });
    return cost;
  }

  /**
   * Records a call of an earlier process's batch, collected by `resume()`: it has no call record here,
   * and its budget reservation (if any) died with that process, so only the ledger learns of it.
   */
  recordRecovered(call: RecoveredBatchCall): void {
    if (call.result.type !== 'succeeded') return;
    const message = call.result.message;
    const usage = usageTotals(message.usage);
    if (!usage) return;
    this.#record({ at: Date.now(), model: message.model, user: call.user, tags: call.tags, usage, batch: true });
  }

  /** Releases a reservation held by a call that ended before completing (e.g. thrown before observe). */
  release(state: CallState): void {
    const held = this.#reservations.get(state);
    if (!held || !this.budget) return;
    this.#reservations.delete(state);
    const done = this.budget.release(held);
    if (done instanceof Promise) done.catch((error: unknown) => this.#logError(error, 'budget release failed'));
  }

  /**
   * Whether the global budget cannot take the smallest call it refused in the current window: health
   * reports it not ready until the window resets (the remaining amount alone rarely reaches zero, since
   * calls are refused before they would cross the limit).
   */
  exhausted(): boolean {
    const refusal = this.#refusal;
    const state = this.budget?.state();
    if (!refusal || !state) return false;
    if (Date.now() >= refusal.windowResetAt) {
      this.#refusal = undefined;
      return false;
    }
    return state.remainingUsd < refusal.requestedUsd;
  }

  #refusal: { requestedUsd: number; windowResetAt: number } | undefined;

  #noteRefusal(error: unknown): void {
    if (!(error instanceof BudgetExceededError) || error.scope !== 'global') return;
    const previous = this.#refusal;
    if (!previous || previous.windowResetAt !== error.windowResetAt || error.requestedUsd < previous.requestedUsd) {
      this.#refusal = { requestedUsd: error.requestedUsd, windowResetAt: error.windowResetAt };
    }
  }

  #view: CostsView | undefined;

  /** The `client.costs` view (one per tracker). */
  view(): CostsView {
    this.#view ??= costsView(this.ledger, () => this.budget);
    return this.#view;
  }

  async close(): Promise<void> {
    await this.store?.close();
  }

  #onStoreEvent(event: CostStoreEvent): void {
    const { log, events } = this.#deps;
    if (event.type === 'redisError') {
      const message = event.error instanceof Error ? event.error.message : String(event.error);
      log.log('warn', { component: 'cost', operation: event.operation, error: message }, 'Redis unreachable: budgets and ledger fall back to this process');
      events.emit('redisError', { component: 'cost', operation: event.operation, message });
    } else {
      log.log('info', { component: 'cost' }, 'Redis answers again: budgets and ledger are shared again');
      events.emit('redisRecovered', { component: 'cost' });
    }
  }

  #logError(error: unknown, message: string): void {
    this.#deps.log.log('error', { error: error instanceof Error ? error.message : String(error) }, message);
  }
}

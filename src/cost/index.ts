/**
 * The cost engine: price table (data + lookup + fallback), exact per-call cost, bounded ledger,
 * budgets with reservations (in memory, or shared through Redis).
 */
export { BudgetExceededError, type BudgetExceededDetails, type BudgetScope } from '../errors/budget-exceeded-error';
export {
  BudgetManager,
  resolveBudgetOptions,
  type BudgetGate,
  type BudgetOptions,
  type BudgetState,
  type BudgetWarning,
  type Reservation,
  type ReserveRequest,
  type ResolvedBudget,
  type UserBudgetState,
} from './budget';
export {
  callCost,
  worstCaseCost,
  type CallCost,
  type CallCostBreakdown,
  type CallCostBreakdownExact,
  type CallCostInput,
  type CostFlag,
  type WorstCaseInput,
} from './call-cost';
export { CostStoreUnavailableError } from './errors';
export {
  CostLedger,
  OTHER_KEY,
  type BucketCaps,
  type CostLedgerOptions,
  type CostSummary,
  type LedgerEntry,
  type LedgerStats,
  type ModelTotals,
  type NormalizedLedgerEntry,
  type PartyTotals,
  type SharedLedgerSink,
  type SummaryQuery,
  type SummaryResolution,
} from './ledger';
export {
  FEMTO_PER_USD,
  amountToFemto,
  femtoToUsd,
  formatFemto,
  parseExactUsd,
  usdToFemto,
  type Femto,
  type UsdAmount,
} from './money';
export { BUILTIN_PRICE_ROWS, BUILTIN_SERVER_TOOL_PRICES } from './price-data';
export {
  PriceTable,
  defaultPriceTable,
  lineFromModelId,
  versionFromModelId,
  type CompiledPriceRow,
  type CompiledRates,
  type FallbackReason,
  type PriceResolution,
  type PriceTableOptions,
  type UnknownModelInfo,
} from './price-table';
export {
  MODEL_LINES,
  RATE_KEYS,
  type ModelLine,
  type PriceRates,
  type PriceRowInput,
  type PriceTier,
  type RateKey,
  type RateValue,
  type ServerToolPrices,
} from './price-types';
export {
  RedisCostStore,
  RedisLedger,
  type CostStoreEvent,
  type RedisCostStoreOptions,
  type RedisErrorMode,
} from './redis-cost-store';
export { SharedBudgetManager } from './shared-budget';
export {
  cacheWriteSplit,
  mergeStreamUsage,
  tokenCounts,
  type CacheCreationLike,
  type DeltaUsageLike,
  type IterationUsageLike,
  type ServerToolUseLike,
  type TokenCounts,
  type UsageLike,
} from './usage';
export { windowBounds, type BudgetWindow, type WindowBounds } from './window';

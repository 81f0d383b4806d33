import type { BudgetOptions, CostLedgerOptions, PriceRowInput } from '../cost';

/** The `cost` option. */
export interface CostOptions {
  /** Extra or replacement price rows (see `PriceRowInput`). Default: the built-in table. */
  prices?: readonly PriceRowInput[];
  /** A spending budget checked before each Messages call. Default: none. */
  budget?: Omit<BudgetOptions, 'budgetWarning' | 'now'>;
  /** Ledger bucket retention and caps. Defaults: see `CostLedgerOptions`. */
  ledger?: Omit<CostLedgerOptions, 'shared' | 'now'>;
}

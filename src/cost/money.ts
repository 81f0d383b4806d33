/**
 * Exact money arithmetic for the cost engine.
 *
 * **Unit: the femto-dollar (1 fUSD = 1e-15 USD), held in a `bigint`.**
 *
 * Why this unit: price rates are transcribed as decimal strings in USD per million tokens (MTok) and
 * validated to at most {@link MAX_RATE_DECIMALS} (5) decimals. One such step is 1e-5 $/MTok = 1e-11 $/token
 * = 10,000 fUSD per token. The finest multipliers the engine ever applies are the derived cache-read rate
 * (×1/10), the derived 5-minute write (×5/4), the data-residency surcharge (×11/10) and the batch discount
 * (×1/2). Their worst product, 10,000 × 5/4 × 11/10 × 1/2 = 6,875 fUSD, and 10,000 × 1/10 × 11/20 = 550 fUSD,
 * are still whole numbers, so **every per-token rate after every modifier is an integer number of fUSD**
 * and the cost of a call is an exact integer. Sums of any number of calls are exact `bigint` additions: no
 * float drift, ever. `number`s are derived only at the edge (for display and logs).
 *
 * Published rates use at most 3 decimals (e.g. $0.125/MTok), so the unit leaves two decimal digits of
 * head-room for user-supplied rows.
 */

/** An amount of money in femto-dollars (1e-15 USD). */
export type Femto = bigint;

/** Femto-dollars per US dollar (1e15). */
export const FEMTO_PER_USD: Femto = 1_000_000_000_000_000n;

/** Decimal digits of the femto unit below one dollar. */
export const FEMTO_DECIMALS = 15;

/** Femto-dollars per token for a rate of 1 USD per million tokens (1e15 / 1e6 = 1e9). */
export const FEMTO_PER_TOKEN_PER_USD_PER_MTOK: Femto = 1_000_000_000n;

/** Maximum decimals accepted in a $/MTok rate (see the module comment for why 5 keeps every cost exact). */
export const MAX_RATE_DECIMALS = 5;

const DECIMAL_RE = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses a non-negative decimal (string like `"3.75"`, or a finite number) into an integer count of
 * `10^-scale` units. Throws `RangeError` when the value is negative, not a plain decimal, or has more
 * than `scale` significant decimals (trailing zeros are fine).
 */
export function parseDecimal(value: string | number, scale: number): bigint {
  const text = decimalText(value, scale);
  const m = DECIMAL_RE.exec(text);
  if (!m) throw new RangeError(`not a non-negative decimal: ${JSON.stringify(value)}`);
  const whole = m[1] ?? '0';
  let frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > scale) {
    throw new RangeError(`more than ${scale} decimals: ${JSON.stringify(value)}`);
  }
  frac = frac.padEnd(scale, '0');
  return BigInt(whole) * 10n ** BigInt(scale) + (scale > 0 ? BigInt(frac) : 0n);
}

/**
 * Text form of a decimal input. Numbers whose shortest form carries more digits than `scale` (such as
 * `0.1 + 0.2`) or uses exponent notation are rounded to `scale` decimals first, so a float limit such as
 * `limitUsd: 0.3` is taken at face value.
 */
function decimalText(value: string | number, scale: number): string {
  if (typeof value === 'string') return value.trim();
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`not a finite non-negative number: ${value}`);
  if (value >= 1e21) throw new RangeError(`too large: ${value}`);
  const shortest = String(value);
  if (!/e/i.test(shortest)) {
    const dot = shortest.indexOf('.');
    if (dot < 0 || shortest.length - dot - 1 <= scale) return shortest;
  }
  return value.toFixed(Math.min(scale, 100));
}

/**
 * Converts USD (a decimal string such as `"0.0375"`, or a number) into femto-dollars. Numbers are
 * rounded to 15 decimals (their float noise lies below that). Throws `RangeError` for negative or
 * malformed values.
 */
export function usdToFemto(value: string | number): Femto {
  return parseDecimal(value, FEMTO_DECIMALS);
}

/**
 * Formats femto-dollars as a plain decimal USD string without exponent or trailing zeros
 * (`3_750_000_000_000n` → `"0.00375"`, `0n` → `"0"`, negative amounts keep their sign).
 */
export function formatFemto(femto: Femto): string {
  const negative = femto < 0n;
  const abs = negative ? -femto : femto;
  const whole = abs / FEMTO_PER_USD;
  const frac = (abs % FEMTO_PER_USD).toString().padStart(FEMTO_DECIMALS, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole.toString()}${frac ? `.${frac}` : ''}`;
}

const SAFE_FEMTO = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Femto-dollars as the nearest IEEE double in USD. Up to 2^53 femto-dollars (about $9) both operands of
 * the division are exact doubles, so IEEE division already gives the correctly rounded quotient — the
 * same double as parsing the exact decimal, without building the string; beyond that, from the decimal.
 */
export function femtoToUsd(femto: Femto): number {
  if (femto <= SAFE_FEMTO && femto >= -SAFE_FEMTO) return Number(femto) / 1e15;
  return Number(formatFemto(femto));
}

/** Where a `CallCost` keeps its exact amount, so summing it never goes through a decimal string. */
export const EXACT_FEMTO: unique symbol = Symbol('resilient-claude.femto');

/** Parses a decimal USD string produced by {@link formatFemto} (or any decimal) back into femto-dollars. */
export function parseExactUsd(exact: string): Femto {
  const t = exact.trim();
  if (t.startsWith('-')) return -parseDecimal(t.slice(1), FEMTO_DECIMALS);
  return parseDecimal(t, FEMTO_DECIMALS);
}

/**
 * Anything the engine accepts as an amount of USD: a number, an exact decimal string, or an object with
 * an `exact` decimal string (such as a `CallCost`), which is preferred because it carries no float error.
 */
export type UsdAmount = number | string | { readonly exact: string };

/** Converts a {@link UsdAmount} into femto-dollars (rejects negatives and malformed values with `RangeError`). */
export function amountToFemto(amount: UsdAmount): Femto {
  if (typeof amount === 'object' && amount !== null) {
    const exact = (amount as { [EXACT_FEMTO]?: unknown })[EXACT_FEMTO];
    if (typeof exact === 'bigint') return exact;
    return parseDecimal(amount.exact, FEMTO_DECIMALS);
  }
  return usdToFemto(amount);
}

/** Integer ceiling division for non-negative `bigint`s. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** Largest of two `bigint`s. */
export function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

import { describe, expect, it } from 'vitest';
import { amountToFemto, femtoToUsd, formatFemto, parseDecimal, parseExactUsd, usdToFemto } from './money';

describe('money (femto-dollars)', () => {
  it('parses decimals exactly and formats without exponent or trailing zeros', () => {
    expect(usdToFemto('0.00375')).toBe(3_750_000_000_000n);
    expect(usdToFemto('1')).toBe(1_000_000_000_000_000n);
    expect(formatFemto(3_750_000_000_000n)).toBe('0.00375');
    expect(formatFemto(0n)).toBe('0');
    expect(formatFemto(1n)).toBe('0.000000000000001');
    expect(formatFemto(-1_500_000_000_000_000n)).toBe('-1.5');
    expect(parseExactUsd('-1.5')).toBe(-1_500_000_000_000_000n);
    expect(formatFemto(123_456_789_000_000_000_000_000n)).toBe('123456789');
  });

  it('takes float inputs at face value (0.1 + 0.2 → 0.3) and rejects bad ones', () => {
    expect(usdToFemto(0.1 + 0.2)).toBe(usdToFemto('0.3'));
    expect(usdToFemto(1e-7)).toBe(100_000_000n);
    expect(() => usdToFemto(-1)).toThrow(RangeError);
    expect(() => usdToFemto(Number.NaN)).toThrow(RangeError);
    expect(() => usdToFemto('1e5')).toThrow(RangeError);
    expect(() => parseDecimal('0.123456', 5)).toThrow(RangeError);
    expect(parseDecimal('0.1234500', 5)).toBe(12_345n);
  });

  it('accepts CallCost-like objects and derives numbers from the exact decimal', () => {
    expect(amountToFemto({ exact: '0.0105' })).toBe(10_500_000_000_000n);
    expect(() => amountToFemto({ exact: '-1' })).toThrow(RangeError);
    expect(femtoToUsd(usdToFemto('8.414'))).toBe(8.414);
  });
});

// The decimal policy of accounting/numbers.py: 50 significant digits, ROUND_HALF_EVEN; line
// masses quantized to 1e-20 t; only reporting rounds. No JS number ever holds a figure.
import DecimalJs from 'decimal.js';

export const D = DecimalJs.clone({
  precision: 50,
  rounding: DecimalJs.ROUND_HALF_EVEN,
  toExpNeg: -9e15,
  toExpPos: 9e15,
  minE: -999999,
  maxE: 999999,
});
export const ZERO = new D(0);
export const LINE_PLACES = 20;

/** A finite decimal from its string form; Error on anything else ('NaN', '1e', numbers). */
export function parseDecimal(text, where) {
  if (typeof text !== 'string' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text.trim())) {
    throw new Error(`${where}: ${JSON.stringify(text)} is not a decimal string`);
  }
  return new D(text.trim());
}

/** Canonical fixed-point string: no exponent, no trailing zeros, '0' for zero. */
export const decimalStr = (value) => (value.isZero() ? '0' : value.toFixed());

/** A reported figure: exactly `places` decimals, ROUND_HALF_EVEN. */
export const reportedStr = (value, places = 3) => value.toFixed(places, D.ROUND_HALF_EVEN);

/** The exact value of a record's scaled integer (12345, 2 → 123.45). */
export const scaledToDecimal = (quantity, decimals) => new D(quantity.toString()).div(new D(10).pow(decimals));

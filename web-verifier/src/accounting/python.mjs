// How the Python reference reads a JSON value where a published set's parser or an entry's
// denominators leave the type open: `str(x)`, `x[key]`, `Decimal(x)`, `int(x)`. A forged
// document is refused by both verifiers; reading it the same way keeps the failure's name the
// same too (which of two checks a malformed set fails depends on whether Python could parse it).
// Not carried, so read apart only in such forged sets: digits outside ASCII ('١٢'), exponents
// past ±999999, and 2022.0 told from 2022 (JSON numbers lose it when JavaScript reads them).
import { D } from './numbers.mjs';

/** What Python raises (KeyError, TypeError, ValueError, ArithmeticError): a bad input. */
export class PythonInputError extends Error {}

const bad = (message) => new PythonInputError(message);
export const isDict = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isInt = (v) => typeof v === 'boolean' || (typeof v === 'number' && Number.isInteger(v));
const asInt = (v) => (typeof v === 'boolean' ? Number(v) : v);
// str.strip(): Python's whitespace, which is not JavaScript's (no U+FEFF, but U+001C–U+001F)
const SPACE = '[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const strip = (text) => text.replace(new RegExp(`^${SPACE}+|${SPACE}+$`, 'g'), '');

/** `x[key]` on decoded JSON: a dict by key, a list or string by (negative) index. */
export function item(container, key) {
  if (isDict(container)) {
    if (typeof key === 'string' && Object.hasOwn(container, key)) return container[key];
    throw bad(`missing key ${JSON.stringify(key)}`);
  }
  if (Array.isArray(container) || typeof container === 'string') {
    if (!isInt(key)) throw bad('indices must be integers');
    const i = asInt(key) < 0 ? container.length + asInt(key) : asInt(key);
    if (i < 0 || i >= container.length) throw bad('index out of range');
    return container[i];
  }
  throw bad(`${container} is not subscriptable`);
}

/** `dict.get(key)`: undefined keys read as null. */
export const get = (dict, key) => (Object.hasOwn(dict, key) ? dict[key] : null);

/** `for x in value`: a list's items, a dict's keys, a string's characters. */
export function iterate(value) {
  if (Array.isArray(value)) return value;
  if (isDict(value)) return Object.keys(value);
  if (typeof value === 'string') return [...value];
  throw bad(`${value} is not iterable`);
}

/** Python's truth value of decoded JSON. */
export const truthy = (v) => !(v === null || v === undefined || v === false || v === 0 || v === ''
  || (Array.isArray(v) && !v.length) || (isDict(v) && !Object.keys(v).length));

function floatRepr(n) {
  const [digits, exp] = n.toExponential().split('e');
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${digits}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const text = String(n);
  return text.includes('.') ? text : `${text}.0`;
}

/** `str(x)` of decoded JSON (a container's repr is approximated: no published set has one). */
export function str(v) {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 1e16 ? String(v) : floatRepr(v);
  return JSON.stringify(v);
}

/** `int(x)` succeeds (the value itself is not needed). */
export function checkInt(v) {
  if (isInt(v) || (typeof v === 'number' && Number.isFinite(v))) return;
  if (typeof v === 'string' && /^[+-]?\d+(_\d+)*$/.test(strip(v))) return;
  throw bad(`invalid literal for int(): ${JSON.stringify(v)}`);
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL = /^[+-]?(inf|infinity|s?nan\d*)$/i;

/** `Decimal(text)` of a string, then finite (every caller refuses NaN and infinities). */
function decimalText(text) {
  const bare = strip(text).replaceAll('_', '');
  if (SPECIAL.test(bare)) throw bad(`${JSON.stringify(text)} is not finite`);
  if (!DECIMAL.test(bare)) throw bad(`${JSON.stringify(text)} is not a decimal`);
  const value = new D(bare);
  if (!value.isFinite()) throw bad(`${JSON.stringify(text)} is out of range`);
  return value;
}

// A double's exact value (Decimal(float) is exact; JavaScript prints the shortest string)
function exactDouble(n) {
  let k = 0;
  let m = n;
  while (!Number.isInteger(m)) {
    m *= 2;
    k += 1;
  }
  return new D(`${BigInt(m) * 5n ** BigInt(k)}e-${k}`);
}

/** `Decimal(x)` of decoded JSON, finite: a decimal string, a number (exactly), a boolean. */
export function decimal(v) {
  if (typeof v === 'string') return decimalText(v);
  if (typeof v === 'boolean') return new D(Number(v));
  if (typeof v === 'number' && Number.isFinite(v)) return exactDouble(v);
  throw bad(`conversion from ${str(v)} to Decimal is not supported`);
}

/** `parse_decimal` of accounting/factors.py: a data file's decimal string, finite. */
export function parseDecimal(text, where, nonNegative = true) {
  if (typeof text !== 'string') throw bad(`${where}: value must be a decimal string, got ${str(text)}`);
  const value = decimalText(text);
  if (nonNegative && value.isNeg() && !value.isZero()) throw bad(`${where}: ${text} must be non-negative`);
  return value;
}

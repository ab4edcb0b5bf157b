// An enterprise's signed declaration of its added value (verifier/protocol/declarations.py).
import { keccak_256 } from '@noble/hashes/sha3';
import { concat, utf8, word } from './bytes.mjs';
import { InvalidRecord, typedDigest } from './typed-data.mjs';

export const ADDED_VALUE_DECLARED = 'enterprise.added_value_declared';
const FIELDS = ['addedValue', 'decimals', 'declaredAt', 'enterprise', 'periodEnd', 'periodStart'];
const TYPE_HASH = keccak_256(utf8('AddedValueDeclaration(string enterprise,string periodStart,string periodEnd,uint256 addedValue,uint8 decimals,uint64 declaredAt)'));
const LIMITS = { addedValue: 1n << 256n, decimals: 19n, declaredAt: 1n << 64n };

function uint(name, value) {
  let n;
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) n = BigInt(value);
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  if (n === undefined || n < 0n || n >= LIMITS[name]) throw new InvalidRecord(`${name} must be an integer in [0, ${LIMITS[name]})`);
  return n;
}

function isoDate(name, value) {
  const ok = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) &&
    !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value);
  if (!ok) throw new InvalidRecord(`${name} must be an ISO date YYYY-MM-DD`);
  return value;
}

export function declarationFromMessage(message) {
  if (!message || typeof message !== 'object' || JSON.stringify(Object.keys(message).sort()) !== JSON.stringify(FIELDS)) {
    throw new InvalidRecord(`declaration fields must be exactly ${FIELDS}`);
  }
  const d = {
    enterprise: message.enterprise,
    periodStart: isoDate('periodStart', message.periodStart),
    periodEnd: isoDate('periodEnd', message.periodEnd),
    addedValue: uint('addedValue', message.addedValue),
    decimals: uint('decimals', message.decimals),
    declaredAt: uint('declaredAt', message.declaredAt),
  };
  if (typeof d.enterprise !== 'string' || d.enterprise.length < 1 || d.enterprise.length > 128 || !d.enterprise.isWellFormed()) {
    throw new InvalidRecord('enterprise must be a string of 1..128 chars');
  }
  if (d.addedValue === 0n) throw new InvalidRecord('addedValue must be positive: L divides by it');
  if (d.periodEnd < d.periodStart) throw new InvalidRecord('periodEnd is before periodStart');
  return d;
}

export function declarationDigest(domain, d) {
  const struct = keccak_256(concat(TYPE_HASH, keccak_256(utf8(d.enterprise)), keccak_256(utf8(d.periodStart)),
    keccak_256(utf8(d.periodEnd)), word(d.addedValue), word(d.decimals), word(d.declaredAt)));
  return typedDigest(domain, struct);
}

// A third-party verifier's countersignature of a declaration (optional).
export const ADDED_VALUE_COUNTERSIGNED = 'enterprise.added_value_countersigned';
export const COUNTERSIGNER_SET = 'verifier.countersigner_set';
const COUNTER_TYPE_HASH = keccak_256(utf8('DeclarationCountersignature(bytes32 declaration,string countersigner)'));

/** The digest a countersigner signs: its name over the declaration's EIP-712 digest. */
export function countersignatureDigest(domain, declaration, countersigner) {
  if (declaration.length !== 32 || typeof countersigner !== 'string' || countersigner.length < 1 || countersigner.length > 128) {
    throw new InvalidRecord('a countersignature names a 32-byte digest and a 1..128 char name');
  }
  const struct = keccak_256(concat(COUNTER_TYPE_HASH, declaration, keccak_256(utf8(countersigner))));
  return typedDigest(domain, struct);
}

// An enterprise's signed publication (or withdrawal) of one evaluation
// (verifier/protocol/publication.py): EIP-712 over the activity records' domain.
import { keccak_256 } from '@noble/hashes/sha3';
import { concat, fromHex, utf8, word } from './bytes.mjs';
import { InvalidRecord, typedDigest, typeHash } from './typed-data.mjs';

export const PUBLISHED = 'evaluation.published';
export const WITHDRAWN = 'evaluation.withdrawn';
export const ACTIONS = { publish: PUBLISHED, withdraw: WITHDRAWN };
export const ZERO_PREV = `0x${'00'.repeat(32)}`;
export const PUBLICATION_TYPE = 'EvaluationPublication';
export const PUBLICATION_FIELDS = [
  { name: 'action', type: 'string' },
  { name: 'enterprise', type: 'string' },
  { name: 'evaluation', type: 'string' },
  { name: 'entry', type: 'bytes32' },
  { name: 'index', type: 'uint64' },
  { name: 'prev', type: 'bytes32' },
  { name: 'at', type: 'uint64' },
];
const FIELDS = PUBLICATION_FIELDS.map((f) => f.name).sort();
const TYPE_HASH = typeHash(PUBLICATION_TYPE, PUBLICATION_FIELDS);
const HEX32 = /^0x[0-9a-f]{64}$/;
const UINT64 = 1n << 64n;

function uint(name, value) {
  let n;
  if (typeof value === 'string' && /^[0-9]{1,20}$/.test(value)) {
    if (value !== BigInt(value).toString()) throw new InvalidRecord(`${name} must be written without leading zeros`);
    n = BigInt(value);
  } else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  if (n === undefined || n < 0n || n >= UINT64) throw new InvalidRecord(`${name} must be an integer in [0, 2**64)`);
  return n;
}

function text(name, value) {
  if (typeof value !== 'string' || value.length === 0 || value.length > 128 || !value.isWellFormed()) {
    throw new InvalidRecord(`${name} must be a string of 1..128 chars`);
  }
  return value;
}

function hex32(name, value) {
  if (typeof value !== 'string' || !HEX32.test(value)) throw new InvalidRecord(`${name} must be 0x + 64 lower-case hex digits`);
  return value;
}

/** The statement a message states, checked as verifier/protocol/publication.py checks it. */
export function publicationFromMessage(message) {
  if (!message || typeof message !== 'object' || Array.isArray(message) || JSON.stringify(Object.keys(message).sort()) !== JSON.stringify(FIELDS)) {
    throw new InvalidRecord(`publication fields must be exactly ${FIELDS}`);
  }
  const index = uint('index', message.index);
  const at = uint('at', message.at);
  const p = { action: message.action, enterprise: message.enterprise, evaluation: message.evaluation, entry: message.entry, index, prev: message.prev, at };
  if (typeof p.action !== 'string' || !Object.hasOwn(ACTIONS, p.action)) throw new InvalidRecord(`action must be one of ${Object.keys(ACTIONS).join(', ')}`);
  text('enterprise', p.enterprise);
  text('evaluation', p.evaluation);
  hex32('entry', p.entry);
  hex32('prev', p.prev);
  if (p.index < 1n) throw new InvalidRecord('index counts from 1');
  if ((p.index === 1n) !== (p.prev === ZERO_PREV)) throw new InvalidRecord('prev is zero exactly for the first statement (index 1)');
  return p;
}

/** The EIP-712 message of a statement; integers as decimal strings. */
export function publicationMessage(p) {
  return { action: p.action, enterprise: p.enterprise, evaluation: p.evaluation, entry: p.entry, index: String(p.index), prev: p.prev, at: String(p.at) };
}

/** keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(statement)). */
export function publicationDigest(domain, p) {
  const struct = keccak_256(concat(TYPE_HASH, keccak_256(utf8(p.action)), keccak_256(utf8(p.enterprise)),
    keccak_256(utf8(p.evaluation)), fromHex(p.entry), word(BigInt(p.index)), fromHex(p.prev), word(BigInt(p.at))));
  return typedDigest(domain, struct);
}

// An enterprise's signed registry operations (verifier/protocol/registry_ops.py): EIP-712
// typed data over the activity records' domain, rebuilt from the registry event alone.
import { keccak_256 } from '@noble/hashes/sha3';
import { canonicalBytes } from './canonical.mjs';
import { concat, fromHex, utf8, word } from './bytes.mjs';
import { typedDigest } from './typed-data.mjs';

export class InvalidRegistryOperation extends Error {}

const TYPE_HASH = keccak_256(utf8('RegistryOperation(string action,string enterprise,string subject,string details,uint64 index,bytes32 prev,uint64 effective)'));
const RESERVED = new Set(['format', 'version', 'type', 'subject', 'at', 'enterprise', 'index', 'prev', 'effective', 'signature']);
export const DETAIL_FIELDS = {
  'source.registered': ['metadata', 'name'],
  'device.registered': ['firstSeq', 'metadata', 'sources'],
  'device.revoked': ['lastSeq', 'reason'],
  'device.rotated': ['lastSeq', 'successor'],
  'enterprise.signer_set': ['signer'],
  'enterprise.updated': ['industry', 'region'],
  'registry.checkpoint': [],
};
export const CHAIN_TYPES = new Set(['enterprise.registered', ...Object.keys(DETAIL_FIELDS)]);
const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const text = (bytes) => new TextDecoder().decode(bytes);

function uint(name, value) {
  let n = value;
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) n = Number(value);
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidRegistryOperation(`${name} must be an integer in [0, 2**64)`);
  }
  return n;
}

function string(name, value, max) {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !value.isWellFormed()) {
    throw new InvalidRegistryOperation(`${name} must be a string of 1..${max} chars`);
  }
  return value;
}

/** The signed operation an event records, and its signature. */
export function operationOfEvent(event) {
  const signature = event.signature;
  if (typeof signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    throw new InvalidRegistryOperation('the event carries no 65-byte signature');
  }
  const details = Object.fromEntries(Object.entries(event).filter(([k]) => !RESERVED.has(k)));
  let detailsText;
  try {
    detailsText = text(canonicalBytes(details));
  } catch (exc) {
    throw new InvalidRegistryOperation(`details have no canonical JSON: ${exc.message}`);
  }
  if (typeof event.prev !== 'string' || !HEX32.test(event.prev)) throw new InvalidRegistryOperation('prev must be 0x + 64 hex digits');
  const op = { action: event.type, enterprise: event.enterprise, subject: event.subject, details: detailsText,
    index: uint('index', event.index), prev: fromHex(event.prev), effective: uint('effective', event.effective) };
  if (!(op.action in DETAIL_FIELDS)) throw new InvalidRegistryOperation(`action must be one of ${Object.keys(DETAIL_FIELDS).join(', ')}`);
  string('enterprise', op.enterprise, 128);
  string('subject', op.subject, 128);
  string('details', op.details, 16384);
  if (op.index < 1) throw new InvalidRegistryOperation("index 0 is the registrar's enrolment, never signed");
  const fields = Object.keys(details).sort();
  if (JSON.stringify(fields) !== JSON.stringify(DETAIL_FIELDS[op.action])) {
    throw new InvalidRegistryOperation(`details of ${op.action} must be exactly ${DETAIL_FIELDS[op.action]}`);
  }
  return [op, fromHex(signature)];
}

const hashString = (value) => keccak_256(utf8(value));

export function registryOperationDigest(domain, op) {
  const body = concat(TYPE_HASH, hashString(op.action), hashString(op.enterprise), hashString(op.subject),
    hashString(op.details), word(op.index), op.prev, word(op.effective));
  return typedDigest(domain, keccak_256(body));
}

export const eventDigest = (event) => keccak_256(canonicalBytes(event));

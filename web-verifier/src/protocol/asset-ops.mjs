// The EIP-712 AssetOperation on a carbon-asset lot, as verifier/protocol/asset_ops.py: each
// field's own range and shape, the digest and the kind-5 leaf. Rules that relate fields or
// depend on the lot's history live in lot-rules.mjs. Serials and timestamps are BigInt.
import { keccak_256 } from '@noble/hashes/sha3';
import { concat, fromHex, utf8, word } from './bytes.mjs';
import { LeafKind, leafHash } from './leaves.mjs';
import { parseUint, typedDigest, typeHash } from './typed-data.mjs';

export class InvalidAssetOperation extends Error {}

export const ASSET_OPERATION_FIELDS = [
  { name: 'action', type: 'string' },
  { name: 'asset', type: 'string' },
  { name: 'program', type: 'string' },
  { name: 'vintage', type: 'uint16' },
  { name: 'serialPrefix', type: 'string' },
  { name: 'first', type: 'uint64' },
  { name: 'last', type: 'uint64' },
  { name: 'owner', type: 'string' },
  { name: 'recipient', type: 'string' },
  { name: 'prev', type: 'bytes32' },
  { name: 'reference', type: 'string' },
  { name: 'timestamp', type: 'uint64' },
];
const TYPE_HASH = typeHash('AssetOperation', ASSET_OPERATION_FIELDS);

export const ACTIONS = ['issue', 'transfer', 'accept', 'reject', 'reclaim', 'retire', 'surrender'];
export const ZERO_PREV = new Uint8Array(32);
const PROGRAM = /^[A-Z][A-Z0-9-]{1,15}$/;
// ASCII only: a Unicode look-alike would make two different blocks of serials read the same.
const SERIAL_PREFIX = /^[\x20-\x7e]{1,64}$/;
const HEX32 = /^0x[0-9a-fA-F]{64}$/;

const invalid = (reason) => new InvalidAssetOperation(reason);

// Lengths in characters (code points), as Python counts them; a lone surrogate has no UTF-8.
function text(name, value, min, max) {
  if (typeof value !== 'string' || [...value].length < min || [...value].length > max) {
    throw invalid(`${name} must be a string of ${min}..${max} chars`);
  }
  if (!value.isWellFormed()) throw invalid(`${name} must be UTF-8 encodable`);
  return value;
}

function uint(name, value, bits, low = 0n, high = null) {
  let n;
  try {
    n = parseUint(name, value, 256);
  } catch {
    throw invalid(`${name} must be an integer or a decimal string`);
  }
  const limit = high ?? 1n << BigInt(bits);
  if (n < low || n >= limit) throw invalid(`${name} must be an integer in [${low}, ${limit})`);
  return n;
}

/** The operation in an EIP-712 `message`, every field in its range (InvalidAssetOperation). */
export function assetOperationFromMessage(message) {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw invalid('message must be an object');
  }
  const names = ASSET_OPERATION_FIELDS.map((f) => f.name).sort();
  if (JSON.stringify(Object.keys(message).sort()) !== JSON.stringify(names)) {
    throw invalid(`message fields must be exactly ${names.join(', ')}`);
  }
  if (typeof message.prev !== 'string' || !HEX32.test(message.prev)) {
    throw invalid('prev must be 0x + 64 hex digits');
  }
  const op = {
    vintage: uint('vintage', message.vintage, 16, 2000n, 2101n),
    first: uint('first', message.first, 64),
    last: uint('last', message.last, 64),
    timestamp: uint('timestamp', message.timestamp, 64),
  };
  if (!ACTIONS.includes(message.action)) throw invalid(`action must be one of ${ACTIONS.join(', ')}`);
  op.action = message.action;
  op.asset = text('asset', message.asset, 1, 128);
  if (typeof message.program !== 'string' || !PROGRAM.test(message.program)) {
    throw invalid('program must match ^[A-Z][A-Z0-9-]{1,15}$');
  }
  op.program = message.program;
  if (typeof message.serialPrefix !== 'string' || !SERIAL_PREFIX.test(message.serialPrefix)) {
    throw invalid('serialPrefix must be 1..64 printable ASCII chars');
  }
  op.serialPrefix = message.serialPrefix;
  op.owner = text('owner', message.owner, 1, 128);
  op.recipient = text('recipient', message.recipient, 0, 128);
  op.prev = fromHex(message.prev);
  op.reference = text('reference', message.reference, 0, 512);
  return op;
}

const hashText = (value) => keccak_256(utf8(value));

/** keccak(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(op)), hashStruct over 13 words. */
export function assetOperationDigest(domain, op) {
  const body = concat(
    TYPE_HASH, hashText(op.action), hashText(op.asset), hashText(op.program), word(op.vintage),
    hashText(op.serialPrefix), word(op.first), word(op.last), hashText(op.owner),
    hashText(op.recipient), op.prev, hashText(op.reference), word(op.timestamp),
  );
  return typedDigest(domain, keccak_256(body));
}

/** The leaf anchoring a signed operation: [5, digest, keccak(signature)] and its hash. */
export function assetOperationLeaf(digest, signature) {
  const aux = keccak_256(signature);
  return { kind: LeafKind.ASSET_OPERATION, digest, aux, hash: leafHash(LeafKind.ASSET_OPERATION, digest, aux) };
}

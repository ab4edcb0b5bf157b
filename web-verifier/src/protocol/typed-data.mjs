// The EIP-712 ActivityRecord and its signature, and the envelope every signed struct of the
// protocol shares (type hash, digest), as verifier/protocol/typed_data.py.
import { secp256k1 } from '@noble/curves/secp256k1';
import { wNAF } from '@noble/curves/abstract/curve';
import { invert, mod } from '@noble/curves/abstract/modular';
import { keccak_256 } from '@noble/hashes/sha3';
import { canonicalBytes } from './canonical.mjs';
import { concat, equal, fromHex, toBigInt, toHex, utf8, word, ZERO32 } from './bytes.mjs';
import { parseAddress, toChecksumAddress } from './keccak.mjs';

export class InvalidRecord extends Error {}
export class SignatureError extends Error {}
export class MalleableSignature extends SignatureError {}

export const DOMAIN_FIELDS = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
];
export const RECORD_FIELDS = [
  { name: 'enterprise', type: 'string' },
  { name: 'source', type: 'string' },
  { name: 'device', type: 'address' },
  { name: 'seq', type: 'uint64' },
  { name: 'activity', type: 'string' },
  { name: 'quantity', type: 'uint256' },
  { name: 'decimals', type: 'uint8' },
  { name: 'unit', type: 'string' },
  { name: 'periodStart', type: 'uint64' },
  { name: 'periodEnd', type: 'uint64' },
  { name: 'attributesHash', type: 'bytes32' },
];
/** keccak256 of a struct's encodeType, `Name(type name,…)`, for a struct that references no
 * other. */
export const typeHash = (name, fields) =>
  keccak_256(utf8(`${name}(${fields.map((f) => `${f.type} ${f.name}`).join(',')})`));
const DOMAIN_TYPE_HASH = typeHash('EIP712Domain', DOMAIN_FIELDS);
const RECORD_TYPE_HASH = typeHash('ActivityRecord', RECORD_FIELDS);
const ENVELOPE = new Uint8Array([0x19, 0x01]);
const NAME_HASH = keccak_256(utf8('carbon-ledger'));
const VERSION_HASH = keccak_256(utf8('1'));
const BITS = { seq: 64, quantity: 256, decimals: 8, periodStart: 64, periodEnd: 64 };
const N = secp256k1.CURVE.n;
const HALF_N = N / 2n;

// Integers travel as JSON numbers or decimal strings; uint64 and uint256 exceed 2**53.
export function parseUint(name, value, bits = 256) {
  let n;
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) n = BigInt(value);
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else throw new InvalidRecord(`${name} must be an integer or a decimal string`);
  if (n < 0n || n >= 1n << BigInt(bits)) {
    throw new InvalidRecord(`${name} must be an integer in [0, 2**${bits})`);
  }
  return n;
}

// A ledger's records name the same few terminals over and over: checksum each spelling once.
const checksummed = new Map();

function checksum(name, value) {
  const known = checksummed.get(value);
  if (known) return known;
  let address;
  try {
    address = toChecksumAddress(parseAddress(value));
  } catch (exc) {
    throw new InvalidRecord(`${name}: ${exc.message}`);
  }
  if (checksummed.size > 4096) checksummed.clear();
  checksummed.set(value, address);
  return address;
}

function utf8String(name, value) {
  // A lone surrogate has no UTF-8 form, hence no EIP-712 encoding.
  if (typeof value !== 'string' || !value.isWellFormed()) {
    throw new InvalidRecord(`${name} must be a UTF-8 encodable string`);
  }
  return value;
}

export function makeDomain(chainId, verifyingContract) {
  const id = typeof chainId === 'bigint' ? chainId : parseUint('chain_id', chainId);
  const contract = checksum('verifying_contract', verifyingContract);
  const separator = keccak_256(
    concat(DOMAIN_TYPE_HASH, NAME_HASH, VERSION_HASH, word(id), new Uint8Array(12),
      fromHex(contract)),
  );
  return { chainId: id, verifyingContract: contract, separator };
}

/** keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ structHash): what is signed, for a struct of any
 * type under `domain`. */
export const typedDigest = (domain, structHash) =>
  keccak_256(concat(ENVELOPE, domain.separator, structHash));

export function recordFromMessage(message) {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new InvalidRecord('message must be an object');
  }
  const names = RECORD_FIELDS.map((f) => f.name).sort();
  if (JSON.stringify(Object.keys(message).sort()) !== JSON.stringify(names)) {
    throw new InvalidRecord(`message fields must be exactly ${names}`);
  }
  const hash = message.attributesHash;
  if (typeof hash !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(hash)) {
    throw new InvalidRecord('attributesHash must be 0x + 64 hex digits');
  }
  const record = {};
  for (const name of ['enterprise', 'source']) record[name] = utf8String(name, message[name]);
  for (const [name, bits] of Object.entries(BITS)) {
    record[name] = parseUint(name, message[name], bits);
  }
  record.activity = utf8String('activity', message.activity);
  record.unit = utf8String('unit', message.unit);
  record.device = checksum('device', message.device);
  record.attributesHash = fromHex(hash);
  record.seq = Number(record.seq);
  record.decimals = Number(record.decimals);
  record.periodStart = Number(record.periodStart);
  record.periodEnd = Number(record.periodEnd);
  return record;
}

const sameJson = (a, b) => JSON.stringify(a) === JSON.stringify(b);

export function parseTypedData(doc) {
  const types = doc?.types;
  if (
    !types || !sameJson(Object.keys(types).sort(), ['ActivityRecord', 'EIP712Domain']) ||
    !sameJson(types.EIP712Domain, DOMAIN_FIELDS) || !sameJson(types.ActivityRecord, RECORD_FIELDS) ||
    doc.primaryType !== 'ActivityRecord'
  ) {
    throw new InvalidRecord('types must be exactly EIP712Domain and ActivityRecord');
  }
  const dom = doc.domain;
  if (!dom || typeof dom !== 'object' ||
      !sameJson(Object.keys(dom).sort(), ['chainId', 'name', 'verifyingContract', 'version'])) {
    throw new InvalidRecord('domain must have name, version, chainId, verifyingContract');
  }
  if (dom.name !== 'carbon-ledger' || dom.version !== '1') {
    throw new InvalidRecord("domain must be 'carbon-ledger' version '1'");
  }
  if (!('message' in doc)) throw new InvalidRecord("'message'");
  return [makeDomain(parseUint('chainId', dom.chainId), dom.verifyingContract),
    recordFromMessage(doc.message)];
}

// Strings repeat record after record (enterprise, source, activity, unit): hash each once.
const stringHashes = new Map();
function stringHash(text) {
  let h = stringHashes.get(text);
  if (!h) {
    if (stringHashes.size > 4096) stringHashes.clear();
    h = keccak_256(utf8(text));
    stringHashes.set(text, h);
  }
  return h;
}

export function recordDigest(domain, r) {
  const body = concat(
    RECORD_TYPE_HASH, stringHash(r.enterprise), stringHash(r.source), new Uint8Array(12),
    fromHex(r.device), word(r.seq), stringHash(r.activity), word(r.quantity), word(r.decimals),
    stringHash(r.unit), word(r.periodStart), word(r.periodEnd), r.attributesHash,
  );
  return typedDigest(domain, keccak_256(body));
}

export function attributesHash(attributes) {
  if (!attributes || !Object.keys(attributes).length) return ZERO32;
  return keccak_256(canonicalBytes(attributes));
}

function splitSignature(signature) {
  if (signature.length !== 65) {
    throw new SignatureError(`signature must be 65 bytes, got ${signature.length}`);
  }
  const r = toBigInt(signature.subarray(0, 32));
  const s = toBigInt(signature.subarray(32, 64));
  const v = signature[64];
  if (!(r > 0n && r < N && s > 0n && s < N)) throw new SignatureError('r and s must lie in [1, n-1]');
  if (v !== 27 && v !== 28) throw new SignatureError(`v must be 27 or 28, got ${v}`);
  if (s > HALF_N) throw new MalleableSignature('s is in the upper half of the curve order');
  return { r, s, recovery: v - 27 };
}

const addressOf = (point) => keccak_256(point.toRawBytes(false).subarray(1)).subarray(12);

// Public keys already recovered, by address, with multiplication tables: a figure proof
// carries thousands of signatures by a handful of terminals. The tables are noble's wNAF
// windows over full 256-bit scalars, kept on copies of the points that only this module
// multiplies; non-constant-time multiplication is safe here, where every scalar is public.
const knownKeys = new Map();
const Point = secp256k1.ProjectivePoint;
const WINDOW = 8;
const windows = new wNAF(Point, 256);
const tabled = (point) => {
  const copy = Point.fromAffine(point.toAffine());
  windows.createCache(copy, WINDOW);
  return copy;
};
const G = tabled(Point.BASE);

function recoverPoint(digest, parts) {
  try {
    const sig = new secp256k1.Signature(parts.r, parts.s).addRecoveryBit(parts.recovery);
    return sig.recoverPublicKey(digest);
  } catch {
    throw new SignatureError('no public key recovers from this signature');
  }
}

// Recovery against a known key: R = (e·G + r·Q) / s must be the point (r, parity v).
function signedByKnown(digest, parts, point) {
  const w = invert(parts.s, N);
  const e = mod(toBigInt(digest), N);
  const R = windows.unsafe(point, mod(parts.r * w, N), undefined, windows.unsafe(G, mod(e * w, N)));
  if (R.is0()) return false;
  const { x, y } = R.toAffine();
  return x === parts.r && Number(y & 1n) === parts.recovery;
}

/** The 20-byte address that signed digest (SignatureError / MalleableSignature if none). */
export function recoverAddress(digest, signature) {
  return addressOf(recoverPoint(digest, splitSignature(signature)));
}

/** Whether signature recovers to the address `expected` (20 bytes); errors as recoverAddress. */
export function signedBy(digest, signature, expected) {
  const parts = splitSignature(signature);
  const key = toHex(expected);
  const point = knownKeys.get(key);
  if (point) return signedByKnown(digest, parts, point);
  const recovered = recoverPoint(digest, parts);
  if (!equal(addressOf(recovered), expected)) return false;
  knownKeys.set(key, tabled(recovered));
  return true;
}

/** signedBy over many [digest, signature, address] items, false where it would throw: one
 * field inversion for all the s values and one for all the recovered points (noble's batch
 * inversions), since inverting is a tenth of the work of a key already known. */
export function signedByMany(items) {
  const out = new Array(items.length).fill(false);
  const known = [];
  items.forEach(([digest, signature, address], i) => {
    try {
      const parts = splitSignature(signature);
      const point = knownKeys.get(toHex(address));
      if (point) known.push({ i, digest, parts, point });
      else out[i] = signedBy(digest, signature, address);
    } catch {
      out[i] = false;
    }
  });
  if (!known.length) return out;
  const inverses = Point.Fn.invertBatch(known.map((k) => k.parts.s));
  const points = known.map(({ digest, parts, point }, j) => {
    const w = inverses[j];
    const e = mod(toBigInt(digest), N);
    return windows.unsafe(point, mod(parts.r * w, N), undefined, windows.unsafe(G, mod(e * w, N)));
  });
  const live = points.map((R, j) => [R, j]).filter(([R]) => !R.is0());
  const affine = Point.normalizeZ(live.map(([R]) => R));
  live.forEach(([, j], n) => {
    const { x, y } = affine[n].toAffine();
    const { i, parts } = known[j];
    out[i] = x === parts.r && Number(y & 1n) === parts.recovery;
  });
  return out;
}

export function recoverSigner(digest, signature) {
  return toChecksumAddress(recoverAddress(digest, signature));
}

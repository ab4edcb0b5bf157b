// Many secp256k1 signatures checked together (the register readings' and the registry events'):
// one key recovery per signer and one equation over every signature,
// Σ zᵢ·(sᵢ·Rᵢ − eᵢ·G − rᵢ·Q) = O with random 128-bit zᵢ, which holds with probability at most
// 2⁻¹²⁸ when any signature is not its signer's. Recovering each signature on its own is most of
// such a check; a caller whose equation fails checks each signature alone, in order, so the
// failure it names is the one a check of signature after signature names.
import { pippenger } from '@noble/curves/abstract/curve';
import { secp256k1 } from '@noble/curves/secp256k1';
import { concat, equal, toBigInt } from '../protocol/bytes.mjs';
import { keccak256, parseAddress } from '../protocol/keccak.mjs';

const Point = secp256k1.ProjectivePoint;
const Fn = Point.Fn;
const HALF_N = Fn.ORDER >> 1n;

// r, s, e and the point R a valid (low-s) signature commits to; null where the signature
// could not be valid, which the check of that signature alone then names.
function terms(digest, signature) {
  const v = signature[64];
  if (signature.length !== 65 || (v !== 27 && v !== 28)) return null;
  const r = toBigInt(signature.subarray(0, 32));
  const s = toBigInt(signature.subarray(32, 64));
  if (!(r > 0n && r < Fn.ORDER && s > 0n && s <= HALF_N)) return null;
  try {
    const R = Point.fromHex(concat(new Uint8Array([v - 25]), signature.subarray(0, 32)));
    return { r, s, R, e: Fn.create(toBigInt(digest)) };
  } catch {
    return null;
  }
}

// The key that signed, if its address is `signer`'s.
function signerKey({ r, s, R, e }, signer) {
  const w = Fn.inv(r);
  const Q = Point.BASE.multiplyUnsafe(Fn.neg(Fn.mul(e, w))).add(R.multiplyUnsafe(Fn.mul(s, w)));
  if (Q.is0() || !equal(keccak256(Q.toRawBytes(false).subarray(1)).subarray(12), parseAddress(signer))) return null;
  return { Q, sum: 0n };
}

// Random 128-bit scalars; getRandomValues fills at most 64 KiB a call.
function randomScalars(count) {
  const words = new BigUint64Array(2 * count);
  for (let i = 0; i < words.length; i += 8192) crypto.getRandomValues(words.subarray(i, i + 8192));
  return Array.from({ length: count }, (_v, i) => (words[2 * i] << 64n) | words[2 * i + 1]);
}

/** Whether every { signer, digest, signature } item is a low-s signature by the key whose
 * address is `signer` (an address string; items of one signer name it alike). */
export function allSigned(items) {
  const z = randomScalars(items.length);
  const keys = new Map();
  const points = [Point.BASE];
  const scalars = [0n];
  for (const [i, { signer, signature, digest }] of items.entries()) {
    const t = terms(digest, signature);
    if (t === null) return false;
    const key = keys.get(signer) ?? signerKey(t, signer);
    if (key === null) return false;
    keys.set(signer, key);
    points.push(t.R);
    scalars.push(Fn.mul(z[i], t.s));
    scalars[0] = Fn.sub(scalars[0], Fn.mul(z[i], t.e));
    key.sum = Fn.sub(key.sum, Fn.mul(z[i], t.r));
  }
  for (const { Q, sum } of keys.values()) {
    points.push(Q);
    scalars.push(sum);
  }
  return pippenger(Point, Fn, points, scalars).is0();
}

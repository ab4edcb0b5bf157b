// Keccak-256 and EIP-55 addresses, as verifier/protocol/keccak.py.
import { keccak_256 } from '@noble/hashes/sha3';
import { fromHex, toHex, utf8 } from './bytes.mjs';

export const keccak256 = (data) => keccak_256(data);

const ADDRESS = /^0[xX][0-9a-fA-F]{40}$/;

export function toChecksumAddress(raw) {
  if (raw.length !== 20) throw new Error(`address must be 20 bytes, got ${raw.length}`);
  const lower = toHex(raw).slice(2);
  const nibbles = toHex(keccak_256(utf8(lower))).slice(2);
  let out = '0x';
  for (let i = 0; i < 40; i++) out += nibbles[i] >= '8' ? lower[i].toUpperCase() : lower[i];
  return out;
}

// All-lower or all-upper case as is; mixed case must be a valid EIP-55 checksum.
export function parseAddress(text) {
  if (typeof text !== 'string' || !ADDRESS.test(text)) {
    throw new Error(`not a 0x-prefixed 20-byte hex address: ${JSON.stringify(text)}`);
  }
  const digits = text.slice(2);
  const raw = fromHex('0x' + digits);
  const mixed = digits !== digits.toLowerCase() && digits !== digits.toUpperCase();
  if (mixed && toChecksumAddress(raw).slice(2) !== digits) {
    throw new Error(`bad EIP-55 checksum: ${JSON.stringify(text)}`);
  }
  return raw;
}

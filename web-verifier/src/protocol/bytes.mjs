// Hex and byte helpers: every hash in a bundle is compared as bytes, never as spelled.

const HEX = /^0x[0-9a-fA-F]*$/;

export function fromHex(text) {
  if (typeof text !== 'string' || !HEX.test(text) || text.length % 2) {
    throw new Error(`not 0x-prefixed hex: ${JSON.stringify(text)}`);
  }
  const out = new Uint8Array((text.length - 2) / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 + 2 * i, 4 + 2 * i), 16);
  return out;
}

const BYTE_HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

export function toHex(bytes) {
  let out = '0x';
  for (const b of bytes) out += BYTE_HEX[b];
  return out;
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function compare(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export function word(value) {
  const out = new Uint8Array(32);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    for (let i = 31, v = value; i >= 0 && v > 0; i--, v = Math.floor(v / 256)) out[i] = v % 256;
    return out;
  }
  let v = BigInt(value);
  for (let i = 31; i >= 0 && v > 0n; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

export function toBigInt(bytes) {
  return bytes.length ? BigInt(toHex(bytes)) : 0n;
}

export const utf8 = (text) => new TextEncoder().encode(text);
export const ZERO32 = new Uint8Array(32);

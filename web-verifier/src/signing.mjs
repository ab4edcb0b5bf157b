// Signing in the enterprise's browser: its registry key, read from an Ethereum keystore (v3)
// or pasted, signs an EvaluationPublication statement here and goes nowhere else. The page
// posts only the statement and its signature.
import { secp256k1 } from '@noble/curves/secp256k1';
import { pbkdf2Async } from '@noble/hashes/pbkdf2';
import { scryptAsync } from '@noble/hashes/scrypt';
import { sha256 } from '@noble/hashes/sha2';
import { keccak_256 } from '@noble/hashes/sha3';
import { concat, equal, fromHex, toHex } from './protocol/bytes.mjs';
import { toChecksumAddress } from './protocol/keccak.mjs';
import { publicationDigest, publicationFromMessage } from './protocol/publication.mjs';
import { makeDomain } from './protocol/typed-data.mjs';

export class KeyError extends Error {}

/** A pasted private key: 0x and 64 hex digits (or the digits alone). */
export function parsePrivateKey(text) {
  const hex = String(text).trim().replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new KeyError('a private key is 64 hex digits');
  const key = fromHex(`0x${hex.toLowerCase()}`);
  if (!secp256k1.utils.isValidPrivateKey(key)) throw new KeyError('not a valid secp256k1 key');
  return key;
}

async function derive(crypto) {
  const p = crypto.kdfparams ?? {};
  const salt = fromHex(`0x${String(p.salt ?? '').replace(/^0x/, '')}`);
  if (crypto.kdf === 'scrypt') return scryptAsync(new TextEncoder().encode(crypto.passphrase), salt, { N: p.n, r: p.r, p: p.p, dkLen: p.dklen });
  if (crypto.kdf === 'pbkdf2' && p.prf === 'hmac-sha256') return pbkdf2Async(sha256, new TextEncoder().encode(crypto.passphrase), salt, { c: p.c, dkLen: p.dklen });
  throw new KeyError(`keystore key derivation ${crypto.kdf} is not supported`);
}

/** The private key of an Ethereum v3 keystore (scrypt or pbkdf2, aes-128-ctr), decrypted with
 * the passphrase; a wrong passphrase fails the keystore's MAC. */
export async function decryptKeystore(keystore, passphrase) {
  const crypto = keystore?.crypto ?? keystore?.Crypto;
  if (keystore?.version !== 3 || !crypto || crypto.cipher !== 'aes-128-ctr') throw new KeyError('not a version 3 keystore (aes-128-ctr)');
  const derived = await derive({ ...crypto, passphrase });
  const ciphertext = fromHex(`0x${String(crypto.ciphertext).replace(/^0x/, '')}`);
  const mac = keccak_256(concat(derived.slice(16, 32), ciphertext));
  if (!equal(mac, fromHex(`0x${String(crypto.mac).replace(/^0x/, '')}`))) throw new KeyError('wrong passphrase (the keystore MAC does not match)');
  const aes = await globalThis.crypto.subtle.importKey('raw', derived.slice(0, 16), 'AES-CTR', false, ['decrypt']);
  const iv = fromHex(`0x${String(crypto.cipherparams?.iv).replace(/^0x/, '')}`);
  const plain = await globalThis.crypto.subtle.decrypt({ name: 'AES-CTR', counter: iv, length: 128 }, aes, ciphertext);
  return parsePrivateKey(toHex(new Uint8Array(plain)));
}

/** The EIP-55 address of a private key. */
export function addressOf(privateKey) {
  const point = secp256k1.getPublicKey(privateKey, false);
  return toChecksumAddress(keccak_256(point.slice(1)).slice(12));
}

/** The 65-byte signature r ‖ s ‖ v (v 27/28, low s) of a statement, as 0x-hex. */
export function signPublication(privateKey, chainId, verifyingContract, message) {
  const statement = publicationFromMessage(message);
  const digest = publicationDigest(makeDomain(chainId, verifyingContract), statement);
  const signature = secp256k1.sign(digest, privateKey, { lowS: true });
  const v = new Uint8Array([27 + signature.recovery]);
  return toHex(concat(signature.toCompactRawBytes(), v));
}

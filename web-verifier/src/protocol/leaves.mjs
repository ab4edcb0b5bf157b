// The protocol's leaves: keccak256(keccak256(uint8 kind ‖ digest ‖ aux)), as leaves.py.
import { keccak_256 } from '@noble/hashes/sha3';
import { concat } from './bytes.mjs';

export const LeafKind = {
  ACTIVITY_RECORD: 1,
  LEDGER_ENTRY: 2,
  REGISTRY_EVENT: 3,
  FACTOR_SET: 4,
  ASSET_OPERATION: 5,
};

export function leafHash(kind, digest, aux) {
  const head = new Uint8Array(32);
  head[31] = kind;
  return keccak_256(keccak_256(concat(head, digest, aux)));
}

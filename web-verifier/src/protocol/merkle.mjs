// OpenZeppelin MerkleProof folding, stricter where OZ is unsafe (as verifier/protocol/merkle.py).
import { keccak_256 } from '@noble/hashes/sha3';
import { compare, concat } from './bytes.mjs';

export class MerkleError extends Error {}

function checkNode(node, name) {
  if (!(node instanceof Uint8Array) || node.length !== 32) {
    throw new MerkleError(`${name} must be 32 bytes`);
  }
  return node;
}

export function hashPair(a, b) {
  return compare(a, b) <= 0 ? keccak_256(concat(a, b)) : keccak_256(concat(b, a));
}

export function processProof(leaf, proof) {
  let h = checkNode(leaf, 'leaf');
  proof.forEach((sibling, i) => {
    h = hashPair(h, checkNode(sibling, `proof[${i}]`));
  });
  return h;
}

export function processMultiproof(leaves, proof, flags) {
  if (!leaves.length) throw new MerkleError('a multiproof must prove at least one leaf');
  leaves.forEach((node, i) => checkNode(node, `leaves[${i}]`));
  proof.forEach((node, i) => checkNode(node, `proof[${i}]`));
  if (leaves.length + proof.length !== flags.length + 1) {
    throw new MerkleError('len(leaves) + len(proof) != len(proofFlags) + 1');
  }
  const queue = [...leaves];
  let head = 0;
  let proofPos = 0;
  for (const flag of flags) {
    if (head >= queue.length) throw new MerkleError('multiproof reads past its queue');
    const a = queue[head++];
    let b;
    if (flag) {
      if (head >= queue.length) throw new MerkleError('multiproof reads past its queue');
      b = queue[head++];
    } else {
      if (proofPos >= proof.length) throw new MerkleError('multiproof reads past its proof');
      b = proof[proofPos++];
    }
    queue.push(hashPair(a, b));
  }
  if (proofPos !== proof.length || queue.length - head !== 1) {
    throw new MerkleError('multiproof leaves proof nodes unconsumed');
  }
  return queue[head];
}

// Reference answers from @openzeppelin/merkle-tree for the Python interop tests.
// Reads a JSON list of cases on stdin, writes a JSON list of results on stdout.
//   {"op": "build", "leafEncoding", "values", "proofIndex", "multiIndices", "sortLeaves"?}
//     -> {root, proof, multiproof, dump, render}
//   {"op": "check", "dump", "proofIndex", "proof", "multiproof"}
//     -> {root, proofOk, multiOk}   (load() validates the dump or throws)
'use strict';
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

function build(c) {
  const tree = StandardMerkleTree.of(c.values, c.leafEncoding, { sortLeaves: c.sortLeaves ?? true });
  return {
    root: tree.root,
    proof: tree.getProof(c.proofIndex),
    multiproof: tree.getMultiProof(c.multiIndices),
    dump: tree.dump(),
    render: tree.render(),
  };
}

function check(c) {
  const tree = StandardMerkleTree.load(c.dump);
  const value = c.dump.values[c.proofIndex].value;
  return {
    root: tree.root,
    proofOk: StandardMerkleTree.verify(tree.root, c.dump.leafEncoding, value, c.proof),
    multiOk: StandardMerkleTree.verifyMultiProof(tree.root, c.dump.leafEncoding, c.multiproof),
  };
}

function run(c) {
  try {
    return c.op === 'build' ? build(c) : check(c);
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', chunk => (input += chunk));
process.stdin.on('end', () => process.stdout.write(JSON.stringify(JSON.parse(input).map(run))));

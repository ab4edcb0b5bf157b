// Check 'supersession' of a figure proof (verifier/checks/supersession.py): a bundle may carry
// the later evaluation that supersedes its entry (supersededBy); proven anchored, of the same
// enterprise and period and naming this entry's digest, it is reported as a warning.
import { keccak_256 } from '@noble/hashes/sha3';
import { canonicalBytes } from '../protocol/canonical.mjs';
import { equal, toHex, ZERO32 } from '../protocol/bytes.mjs';
import { parseAddress } from '../protocol/keccak.mjs';
import { LeafKind, leafHash } from '../protocol/leaves.mjs';
import { Entry } from './figure-shapes.mjs';
import { ShapeError } from './shapes.mjs';
import { anchorClaim, checkManifestCounts, checkMerklePath, decodeNodes, prefixed, VerificationFailure } from './kernel.mjs';

export const NOT_SHOWN = 'the bundle shows no later evaluation of this period';
const fail = (code, reason) => new VerificationFailure('supersession', code, reason);

function successorOf(evidence) {
  try {
    return Entry(evidence.entry, 'supersededBy.entry');
  } catch (exc) {
    if (exc instanceof ShapeError) throw fail('SupersessionInvalid', exc.message);
    throw exc;
  }
}

// The successor entry is the stated kind-2 leaf, under its batch's anchored root.
function anchored(evidence, successor) {
  let digest;
  try {
    digest = keccak_256(canonicalBytes(evidence.entry));
  } catch (exc) {
    throw fail('SupersessionInvalid', `supersededBy.entry: ${exc.message}`);
  }
  const hashed = leafHash(LeafKind.LEDGER_ENTRY, digest, ZERO32);
  const stated = evidence.leaf;
  for (const [name, value] of [['kind', 2], ['digest', toHex(digest)], ['aux', toHex(ZERO32)], ['hash', toHex(hashed)]]) {
    if (stated[name] !== value) throw fail('SupersessionLeafMismatch', `supersededBy leaf ${name} is ${stated[name]}, not ${value}`);
  }
  let nodes, claim;
  try {
    nodes = decodeNodes(evidence.proof, 'supersededBy.proof');
    claim = anchorClaim(evidence.batch, evidence.anchor);
  } catch (exc) {
    throw fail('SupersessionInvalid', exc instanceof VerificationFailure ? exc.reason : exc.message);
  }
  prefixed('supersededBy: ', () => checkMerklePath(hashed, nodes, claim.root, evidence.batch.leafCount), 'supersession', 'SupersessionPathInvalid');
  const manifest = prefixed('supersededBy batch: ', () => checkManifestCounts(evidence.batch, claim.manifestHash), 'supersession', 'SupersessionManifestMismatch');
  if (!manifest.covers(successor.enterprise) || (manifest.kinds['2'] ?? 0) < 1) {
    throw fail('SupersessionManifestMismatch', `the successor's batch counts no ledger entry of ${successor.enterprise}`);
  }
  return claim;
}

function checkSupersession(bundle, entry, domain) {
  const evidence = bundle.supersededBy ?? null;
  if (evidence === null) {
    // A pass says only what the bundle shows: no bundle proves that nothing supersedes it.
    const named = entry.supersedes ?? null;
    return [named === null ? NOT_SHOWN : `supersedes ${named.evaluation} (${named.reason}); ${NOT_SHOWN}`, 'passed', []];
  }
  const successor = successorOf(evidence);
  const claim = anchored(evidence, successor);
  if (BigInt(evidence.anchor.chainId) !== domain.chainId || !equal(claim.contract, parseAddress(domain.verifyingContract))) {
    throw fail('SupersessionInvalid', 'supersededBy is anchored on another chain or contract');
  }
  const named = successor.supersedes ?? null;
  const own = bundle.entryProof.leaf.digest;
  if (named === null || named.digest !== own || named.evaluation !== entry.identifier) {
    throw fail('SupersessionMismatch', `${successor.identifier} does not name this entry (${entry.identifier}, ${own}) as the one it supersedes`);
  }
  const s = successor.period, e = entry.period;
  if (successor.enterprise !== entry.enterprise || s.start !== e.start || s.end !== e.end) {
    throw fail('SupersessionMismatch', `${successor.identifier} is of ${successor.enterprise} ${s.start}..${s.end}, not of this entry's enterprise and period`);
  }
  return [`superseded by ${successor.identifier} (${named.reason}): ${named.note}`, 'warning', [claim]];
}

export function runSupersessionCheck(bundle, entry, domain, p) {
  const [detail, status, claims] = checkSupersession(bundle, entry, domain);
  p.add('supersession', detail, status);
  return claims;
}

// Verifying an asset proof bundle (docs/asset-proof-format.md; verifier/checks/asset.py):
// fourteen checks in a fixed order, the first failure ends the run. A lot's issue is signed by
// the key an anchored event names as its programme's issuer, every later operation by a key
// its owner named; each is a kind-5 leaf; the history links by prev from the issue and replays
// under the lot's rules (protocol/lot-rules.mjs) to a state in which the claim holds.
import { Unsupported } from '../accounting/engine.mjs';
import { equal, fromHex, toHex } from '../protocol/bytes.mjs';
import { parseAddress, toChecksumAddress } from '../protocol/keccak.mjs';
import {
  assetOperationDigest, assetOperationFromMessage, assetOperationLeaf, InvalidAssetOperation,
} from '../protocol/asset-ops.mjs';
import { AssetRuleError, apply, HELD, holdings, pending, rangesWithin } from '../protocol/lot-rules.mjs';
import { InvalidRecord, makeDomain, MalleableSignature, recoverSigner, SignatureError } from '../protocol/typed-data.mjs';
import {
  anchorClaim, bundleInvalid, checkManifestCounts, checkMerklePath, checkRegistryEvent, decodeNodes,
  ONCHAIN_CHECKS, prefixed, readBundle, runChecks, runOnchain, skipOnchain, VerificationFailure,
} from './kernel.mjs';
import {
  ADDRESS, Anchor, Batch, HEX32, int, Leaf, RegistryProof, SIGNATURE, ShapeError, anyObject, list, literal, object, str,
} from './shapes.mjs';

export const ASSET_PROOF_FORMAT = 'carbon-ledger/asset-proof';
export const ASSET_CHECKS = ['bundle', 'typed-data', 'signature', 'signers', 'leaf', 'merkle-path',
  'manifest', 'history', 'replay', 'claim', ...ONCHAIN_CHECKS];

// --- check 1: the bundle's shape (verifier/formats/asset.py) --------------------------------

const UINT64_MAX = 2 ** 64 - 1;
const claimFields = { asset: str(null, 1), holder: str(null, 1), first: int(0, UINT64_MAX), last: int(0, UINT64_MAX) };
const HoldingClaim = object({ type: literal('holding'), ...claimFields });
const RetirementClaim = object({ type: literal('retirement'), ...claimFields, operation: str(HEX32) });
const Claim = (v, path) => {
  anyObject(v, path);
  if (v.type === 'holding') return HoldingClaim(v, path);
  if (v.type === 'retirement') return RetirementClaim(v, path);
  throw new ShapeError(`${path}: Input tag ${JSON.stringify(v.type)} does not match 'holding', 'retirement'`);
};
const OperationProof = object({
  operation: anyObject, signature: str(SIGNATURE), leaf: Leaf, proof: list(str()), batch: Batch, anchor: Anchor,
});
const AssetProof = object({
  format: literal(ASSET_PROOF_FORMAT),
  version: literal(2),
  claim: Claim,
  domain: object({ chainId: int(1), verifyingContract: str(ADDRESS) }),
  operations: list(OperationProof, 1),
  signers: list(RegistryProof, 1),
}, ['format', 'version']);

// Each anchored leaf's proof decoded to bytes: its path, its anchor and (operations) signature.
function proven(item, where) {
  const proof = decodeNodes(item.proof, `${where}.proof`);
  try {
    const signature = item.signature ? fromHex(item.signature) : null;
    return { proof, claim: anchorClaim(item.batch, item.anchor), signature };
  } catch (exc) {
    throw bundleInvalid(`${where}: ${exc.message}`);
  }
}

// A JSON number above 2**53 has lost digits before any check could read it: no verdict.
function exactIntegers(bundle) {
  const numbers = [bundle.claim.first, bundle.claim.last];
  for (const { operation } of bundle.operations) numbers.push(operation.first, operation.last, operation.timestamp);
  if (numbers.some((n) => Number.isInteger(n) && !Number.isSafeInteger(n))) {
    throw new Unsupported('a serial or timestamp above 2**53 written as a JSON number: its digits are lost ' +
      'in JavaScript; use carbon-verify');
  }
}

function checkBundle(data) {
  const bundle = readBundle(data, ASSET_PROOF_FORMAT, AssetProof, [2]);
  exactIntegers(bundle);
  return {
    bundle,
    ops: bundle.operations.map((op, i) => proven(op, `operations[${i}]`)),
    signers: bundle.signers.map((s, i) => proven(s, `signers[${i}]`)),
  };
}

// --- checks 2–3: typed data and signatures ---------------------------------------------------

const typedDataInvalid = (reason) => new VerificationFailure('typed-data', 'TypedDataInvalid', reason);

// Every leaf is anchored on the domain's chain, in the domain's contract.
function checkDomainAnchors(bundle, domain, wire) {
  const contract = parseAddress(domain.verifyingContract);
  for (const name of ['operations', 'signers']) {
    bundle[name].forEach((item, i) => {
      const claim = wire[name === 'operations' ? 'ops' : 'signers'][i].claim;
      if (BigInt(item.anchor.chainId) !== domain.chainId || !equal(claim.contract, contract)) {
        throw new VerificationFailure('typed-data', 'DomainMismatch',
          `${name}[${i}] is anchored on chain ${item.anchor.chainId} in ${toChecksumAddress(claim.contract)}; ` +
          `the operations are signed for chain ${domain.chainId}, contract ${domain.verifyingContract}`);
      }
    });
  }
}

function checkTypedData(bundle, wire) {
  let domain;
  try {
    domain = makeDomain(bundle.domain.chainId, bundle.domain.verifyingContract);
  } catch (exc) {
    if (exc instanceof InvalidRecord) throw typedDataInvalid(`domain: ${exc.message}`);
    throw exc;
  }
  const ops = bundle.operations.map((item, i) => {
    try {
      return assetOperationFromMessage(item.operation);
    } catch (exc) {
      if (!(exc instanceof InvalidAssetOperation)) throw exc;
      throw typedDataInvalid(`operations[${i}]: not an AssetOperation: ${exc.message}`);
    }
  });
  checkDomainAnchors(bundle, domain, wire);
  const foreign = ops.findIndex((op) => op.asset !== ops[0].asset);
  if (foreign >= 0) {
    throw new VerificationFailure('typed-data', 'ForeignOperation',
      `operations[${foreign}] is about ${ops[foreign].asset}, not ${ops[0].asset}`);
  }
  return [domain, ops];
}

// Each operation's signer address (who it must be is the signers check's business).
function checkSignatures(digests, wire) {
  return digests.map((digest, i) => {
    try {
      return recoverSigner(digest, wire.ops[i].signature);
    } catch (exc) {
      if (!(exc instanceof SignatureError)) throw exc;
      const code = exc instanceof MalleableSignature ? 'SignatureMalleable' : 'SignatureMalformed';
      throw new VerificationFailure('signature', code, `operations[${i}]: ${exc.message}`);
    }
  });
}

// --- check 4: signers -------------------------------------------------------------------------

const SIGNER_SET = 'enterprise.signer_set';
const ISSUER_SET = 'program.issuer_set';
// Events that name a key, and which key they name (an enrolment names the first signer).
const KEY_EVENTS = { [SIGNER_SET]: SIGNER_SET, 'enterprise.registered': SIGNER_SET, [ISSUER_SET]: ISSUER_SET };

const signerEventInvalid = (reason) => new VerificationFailure('signers', 'SignerEventInvalid', reason);

function checksummed(text) {
  try {
    return toChecksumAddress(parseAddress(text));
  } catch {
    return null;
  }
}

function checkSignerEvent(proof, item, index) {
  const where = `signers[${index}]: `;
  const { type, subject, signer } = proof.event;
  if (typeof type !== 'string' || !Object.hasOwn(KEY_EVENTS, type) || typeof subject !== 'string' || !subject) {
    throw signerEventInvalid(`${where}not an event naming an enterprise's or a programme's key`);
  }
  if (typeof signer !== 'string' || checksummed(signer) !== signer) {
    throw signerEventInvalid(`${where}signer must be an EIP-55 checksum address`);
  }
  checkRegistryEvent(proof, item.proof, item.claim, (reason) => signerEventInvalid(where + reason));
  return { type: KEY_EVENTS[type], subject, signer, block: item.claim.blockNumber };
}

// The event naming `signer` as the key `op` needs in `block`: its programme's issuer key for an
// issue, its owner's key for anything else; no later event of that subject before `block`.
function authorise(events, op, signer, block, index) {
  const [kind, owner, code] = op.action === 'issue'
    ? [ISSUER_SET, op.program, 'IssuerNotAuthorised']
    : [SIGNER_SET, op.owner, 'SignerNotAuthorised'];
  const mine = events.filter((e) => e.type === kind && e.subject === owner);
  const naming = mine.filter((e) => e.signer === signer && e.block <= block);
  if (!naming.length) {
    const later = mine.filter((e) => e.signer === signer).map((e) => e.block);
    const why = later.length ? ` (named only in block ${Math.min(...later)})` : '';
    throw new VerificationFailure('signers', code,
      `operations[${index}] (${op.action}, block ${block}) is signed by ${signer}, which no ` +
      `anchored ${kind} event of ${owner} names by then${why}`);
  }
  const named = naming.reduce((a, e) => (e.block > a.block ? e : a));
  // Same-block events have no order we can see, so only a strictly later block rotates.
  const rotated = mine.find((e) => named.block < e.block && e.block < block);
  if (rotated) {
    throw new VerificationFailure('signers', 'SignerRotatedAway',
      `operations[${index}] (block ${block}) is signed by ${signer}, but ${owner} named ` +
      `${rotated.signer} in block ${rotated.block}, after naming ${signer} in block ${named.block}`);
  }
}

function checkSigners(bundle, wire, ops, signers) {
  const events = bundle.signers.map((p, i) => checkSignerEvent(p, wire.signers[i], i));
  ops.forEach((op, i) => authorise(events, op, signers[i], wire.ops[i].claim.blockNumber, i));
  const owners = [...new Set(ops.slice(1).map((op) => op.owner))].sort();
  return `the issue signed by the ${ops[0].program} issuer key ${signers[0]}, ` +
    `${ops.length - 1} operations by keys their owners (${owners.join(', ') || 'none'}) ` +
    `named; ${events.length} anchored key events`;
}

// --- checks 5–7: leaves, paths, manifests -----------------------------------------------------

function checkLeaves(bundle, digests, wire) {
  return bundle.operations.map((item, i) => {
    const leaf = assetOperationLeaf(digests[i], wire.ops[i].signature);
    const expected = { kind: leaf.kind, digest: toHex(leaf.digest), aux: toHex(leaf.aux), hash: toHex(leaf.hash) };
    for (const [name, value] of Object.entries(expected)) {
      if (item.leaf[name] !== value) {
        throw new VerificationFailure('leaf', 'LeafMismatch',
          `operations[${i}]: leaf ${name} is ${item.leaf[name]}, recomputed ${value}`);
      }
    }
    return leaf.hash;
  });
}

function checkPaths(bundle, wire, hashes) {
  hashes.forEach((leaf, i) => prefixed(`operations[${i}]: `,
    () => checkMerklePath(leaf, wire.ops[i].proof, wire.ops[i].claim.root, bundle.operations[i].batch.leafCount)));
  const roots = new Set(wire.ops.map((p) => toHex(p.claim.root))).size;
  return `${hashes.length} operations under ${roots} batch root(s)`;
}

function checkManifests(bundle, wire, hashes) {
  // Distinct leaves: a repeated operation is the history check's to name, not the manifest's.
  const perRoot = new Map();
  const leaves = new Set(wire.ops.map((p, i) => `${toHex(p.claim.root)}|${toHex(hashes[i])}`));
  for (const key of leaves) {
    const root = key.split('|')[0];
    perRoot.set(root, (perRoot.get(root) ?? 0) + 1);
  }
  bundle.operations.forEach((item, i) => {
    const claim = wire.ops[i].claim;
    const manifest = prefixed(`operations[${i}]: `, () => checkManifestCounts(item.batch, claim.manifestHash));
    const counted = manifest.kinds['5'] ?? 0;
    const placed = perRoot.get(toHex(claim.root));
    if (counted < placed) {
      throw new VerificationFailure('manifest', 'ManifestMismatch',
        `operations[${i}]: the manifest counts ${counted} asset operations, the bundle places ${placed} ` +
        'distinct ones in this batch');
    }
  });
  return `${perRoot.size} manifest(s) hash as anchored and count the operations`;
}

// --- checks 8–10: history, replay, claim ------------------------------------------------------

const historyBroken = (reason) => new VerificationFailure('history', 'HistoryBroken', reason);

function checkHistory(ops, digests, wire) {
  if (ops[0].action !== 'issue') throw historyBroken(`the history starts with a ${ops[0].action}, not with the issue`);
  for (let i = 1; i < ops.length; i++) {
    if (!equal(ops[i].prev, digests[i - 1])) {
      throw historyBroken(
        `operations[${i}] names prev ${toHex(ops[i].prev)}, but operations[${i - 1}] is ${toHex(digests[i - 1])}`);
    }
    // The ledger anchors operations in the order it accepts them.
    const before = wire.ops[i - 1].claim.blockNumber;
    const block = wire.ops[i].claim.blockNumber;
    if (block < before) {
      throw historyBroken(`operations[${i}] is anchored in block ${block}, before its predecessor (${before})`);
    }
  }
  return `${ops.length} operations linked by prev from the issue`;
}

// The failure names the broken rule and the operation in `out` (the result's rule and index).
function checkReplay(ops, digests, out) {
  let state = null;
  ops.forEach((op, i) => {
    try {
      state = apply(state, op, digests[i]);
    } catch (exc) {
      if (!(exc instanceof AssetRuleError)) throw exc;
      Object.assign(out, { rule: exc.code, index: i });
      throw new VerificationFailure('replay', 'ReplayRejected', `operations[${i}] (${op.action}): ${exc.message}`);
    }
  });
  return state;
}

const claimFailure = (code, reason) => new VerificationFailure('claim', code, reason);

function checkHoldingClaim(claim, first, last, state) {
  const pieces = rangesWithin(state, first, last);
  const held = pieces.filter((r) => r.status === HELD && r.holder === claim.holder)
    .reduce((n, r) => n + r.last - r.first + 1n, 0n);
  const quantity = last - first + 1n;
  if (held !== quantity) {
    throw claimFailure('ClaimNotHeld',
      `${claim.holder} holds ${held} of the ${quantity} serials ${first}..${last} after the last operation`);
  }
}

function checkRetirementClaim(claim, first, last, ops, digests, state) {
  const named = fromHex(claim.operation);
  const index = digests.findIndex((d) => equal(d, named));
  if (index < 0) throw claimFailure('ClaimNotRetired', `operation ${claim.operation} is not in the lot's history`);
  const op = ops[index];
  if (op.action !== 'retire' && op.action !== 'surrender') {
    throw claimFailure('ClaimNotRetired', `operations[${index}] is a ${op.action}, not a retirement`);
  }
  if (op.owner !== claim.holder) {
    throw claimFailure('ClaimNotRetired', `operations[${index}] was signed by ${op.owner}, not ${claim.holder}`);
  }
  if (!(op.first <= first && first <= last && last <= op.last)) {
    throw claimFailure('ClaimNotRetired', `operations[${index}] covers ${op.first}..${op.last}, not ${first}..${last}`);
  }
  const status = op.action === 'retire' ? 'retired' : 'surrendered';
  if (rangesWithin(state, first, last).some((r) => r.status !== status || r.holder !== claim.holder)) {
    throw claimFailure('ClaimNotRetired', `serials ${first}..${last} are not ${status} at the end`);
  }
}

function checkClaim(claim, ops, digests, state) {
  const [first, last] = [BigInt(claim.first), BigInt(claim.last)];
  if (claim.asset !== state.asset) {
    throw claimFailure('ClaimInvalid', `the claim is about ${claim.asset}, the history about ${state.asset}`);
  }
  if (first > last) throw claimFailure('ClaimInvalid', `the claimed range ${first}..${last} is empty`);
  if (claim.type === 'retirement') {
    checkRetirementClaim(claim, first, last, ops, digests, state);
    return `${claim.holder} retired ${first}..${last} by ${claim.operation}`;
  }
  checkHoldingClaim(claim, first, last, state);
  return `${claim.holder} holds ${first}..${last} after the last operation`;
}

// --- the run ----------------------------------------------------------------------------------

const numbers = (totals) => Object.fromEntries(Object.entries(totals).map(([k, q]) => [k, Number(q)]));

// The summary of carbon-verify asset --json; true only if the whole result is valid.
function summary(claim, state, digests, wire, issuer) {
  const head = toHex(digests[digests.length - 1]);
  const headBlock = wire.ops[wire.ops.length - 1].claim.blockNumber;
  const quantity = BigInt(claim.last) - BigInt(claim.first) + 1n;
  const operation = claim.type === 'retirement' ? claim.operation : null;
  const what = claim.type === 'holding' ? 'holds' : 'retired';
  const line = `lot ${state.asset} (${state.program} ${state.vintage}, prefix '${state.serialPrefix}', ` +
    `serials ${state.first}..${state.last}, issued by ${state.program} issuer key ${issuer}): ${claim.holder} ` +
    `${what} ${quantity} tCO2e (serials ${claim.first}..${claim.last})${operation ? ` by operation ${operation}` : ''}, ` +
    `as of operation ${state.operations} (digest ${head}) anchored in block ${headBlock}`;
  return {
    asset: state.asset, program: state.program, vintage: Number(state.vintage), serialPrefix: state.serialPrefix,
    lot: { first: Number(state.first), last: Number(state.last) },
    claim: { type: claim.type, holder: claim.holder, first: claim.first, last: claim.last,
      quantity: Number(quantity), operation },
    asOf: { operation: state.operations, digest: head, blockNumber: headBlock },
    holdings: numbers(holdings(state)), pending: numbers(pending(state)), issuer, summary: line,
  };
}

async function run(data, rpc, trust, p, out) {
  const wire = checkBundle(data);
  const { bundle } = wire;
  p.add('bundle', `${bundle.format} v${bundle.version}, ${wire.ops.length} operations`);
  const [domain, ops] = checkTypedData(bundle, wire);
  p.add('typed-data', `lot ${ops[0].asset}, chain ${domain.chainId}, ${domain.verifyingContract}`);
  const digests = ops.map((op) => assetOperationDigest(domain, op));
  const signers = checkSignatures(digests, wire);
  p.add('signature', `${ops.length} signatures well-formed, low-s and recoverable`);
  p.add('signers', checkSigners(bundle, wire, ops, signers));
  const hashes = checkLeaves(bundle, digests, wire);
  p.add('leaf', `${hashes.length} kind-5 leaves of (digest, keccak(signature))`);
  p.add('merkle-path', checkPaths(bundle, wire, hashes));
  p.add('manifest', checkManifests(bundle, wire, hashes));
  p.add('history', checkHistory(ops, digests, wire));
  const state = checkReplay(ops, digests, out);
  p.add('replay', `${state.operations} operations obey the lot's rules`);
  const detail = checkClaim(bundle.claim, ops, digests, state);
  out.asset = summary(bundle.claim, state, digests, wire, signers[0]);
  p.add('claim', `${detail}: as of operation ${state.operations} (block ${out.asset.asOf.blockNumber})`);
  if (!rpc) return skipOnchain(p);
  // Each anchored root once, the operations' first.
  const stated = [...wire.ops, ...wire.signers].map((item) => item.claim);
  await runOnchain(rpc, trust, bundle.domain.chainId, parseAddress(domain.verifyingContract), stated, p);
}

/** Every check in ASSET_CHECKS order; the on-chain ones are skipped without `rpc`. The result
 * carries `asset` (the lot's summary, set once the claim check passed: believe it only when
 * valid) and, when the replay refused an operation, the broken `rule` and the operation's
 * `index`. */
export async function verifyAsset(data, { rpc = null, trust, onCheck } = {}) {
  const out = { asset: null };
  const result = await runChecks(ASSET_CHECKS, (p) => run(data, rpc, trust, p, out), onCheck);
  return { ...result, record: null, ...out };
}

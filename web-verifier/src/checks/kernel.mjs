// The kernel every proof verifier runs on (verifier/checks/kernel.py): the runner and its
// results, the checks the bundle kinds share, and the on-chain run.
import { keccak_256 } from '@noble/hashes/sha3';
import { canonicalBytes } from '../protocol/canonical.mjs';
import { equal, fromHex, toHex, utf8, word, ZERO32, toBigInt } from '../protocol/bytes.mjs';
import { parseAddress } from '../protocol/keccak.mjs';
import { LeafKind, leafHash } from '../protocol/leaves.mjs';
import { MerkleError, processProof } from '../protocol/merkle.mjs';
import { attributesHash, MalleableSignature, recoverSigner, SignatureError } from '../protocol/typed-data.mjs';
import { ShapeError } from './shapes.mjs';

const NODE = /^0x[0-9a-fA-F]{64}$/;

export const ONCHAIN_CHECKS = ['chain-id', 'contract-code', 'anchored', 'anchor-location'];

/** A check failed: `check` its stable name, `code` how (the `failure` of carbon-verify --json). */
export class VerificationFailure extends Error {
  constructor(check, code, reason) {
    super(reason);
    this.check = check;
    this.code = code;
    this.reason = reason;
  }
}

/** Run `run(progress)`; it adds each check it passes (awaiting the chain where it reads it) and
 * throws the first failure. `onCheck` sees each check as it is decided, for a page to show. */
export async function runChecks(names, run, onCheck = () => {}) {
  const checks = [];
  const progress = {
    summary: null,
    add(name, detail, status = 'passed') {
      const check = { name, status, detail };
      checks.push(check);
      onCheck(check);
    },
  };
  let failure = null;
  try {
    await run(progress);
  } catch (exc) {
    if (!(exc instanceof VerificationFailure)) throw exc;
    failure = exc;
    progress.add(exc.check, exc.reason, 'failed');
  }
  const ran = new Set(checks.map((c) => c.name));
  for (const name of names) {
    if (!ran.has(name)) checks.push({ name, status: 'not-run', detail: 'an earlier check failed' });
  }
  const skipped = checks.filter((c) => c.status === 'skipped').map((c) => c.name);
  return {
    valid: failure === null,
    failedCheck: failure?.check ?? null,
    failure: failure?.code ?? null,
    reason: failure?.reason ?? null,
    offline: ONCHAIN_CHECKS.some((n) => skipped.includes(n)),
    warnings: checks.filter((c) => c.status === 'warning').map((c) => c.detail),
    checks,
    summary: progress.summary,
  };
}

/** Re-throw a shared check's failure with `prefix`, under another check / code when given; a
 * code starting with '+' goes before the failure's own ('+Record' + 'SignatureMismatch'). */
export function prefixed(prefix, fn, check = null, code = null) {
  try {
    return fn();
  } catch (exc) {
    if (!(exc instanceof VerificationFailure)) throw exc;
    let newCode = code ?? exc.code;
    if (newCode.startsWith('+')) newCode = newCode.slice(1) + exc.code;
    throw new VerificationFailure(check ?? exc.check, newCode, prefix + exc.reason);
  }
}

export const bundleInvalid = (reason) => new VerificationFailure('bundle', 'BundleInvalid', reason);

/** Check 1: a `fmt` document of one of `versions`, in `shape`. */
export function readBundle(data, fmt, shape, versions = [1]) {
  if (data === null || typeof data !== 'object' || Array.isArray(data) || data.format !== fmt) {
    const found = data && typeof data === 'object' ? data.format : typeof data;
    throw bundleInvalid(`not a ${fmt} bundle (format ${JSON.stringify(found)})`);
  }
  if (!Number.isInteger(data.version) || !versions.includes(data.version)) {
    throw bundleInvalid(`unsupported bundle version ${data.version}; this reads ${versions.join(', ')}`);
  }
  return validate(shape, data);
}

export function validate(shape, data, where = '') {
  try {
    return shape(data, where);
  } catch (exc) {
    if (exc instanceof ShapeError) throw bundleInvalid(exc.message);
    throw exc;
  }
}

export function decodeNodes(nodes, where) {
  const bad = nodes.findIndex((n) => !NODE.test(n));
  if (bad >= 0) throw bundleInvalid(`${where}[${bad}] is not 0x + 64 hex digits`);
  return nodes.map(fromHex);
}

/** What a bundle says about one anchored root, decoded (throws Error on bad hex). */
export function anchorClaim(batch, anchor) {
  return {
    root: fromHex(batch.root),
    leafCount: batch.leafCount,
    manifestHash: fromHex(batch.manifestHash),
    contract: parseAddress(anchor.contract),
    batchId: anchor.batchId,
    txHash: fromHex(anchor.txHash),
    blockNumber: anchor.blockNumber,
    blockHash: fromHex(anchor.blockHash),
    logIndex: anchor.logIndex,
  };
}

export const claimKey = (c) =>
  [toHex(c.root), c.leafCount, toHex(c.manifestHash), toHex(c.contract), c.batchId,
    toHex(c.txHash), c.blockNumber, toHex(c.blockHash), c.logIndex].join('|');

// --- offline checks -------------------------------------------------------------------------

export function checkSignature(digest, signature, device) {
  let signer;
  try {
    signer = recoverSigner(digest, signature);
  } catch (exc) {
    if (exc instanceof MalleableSignature) throw new VerificationFailure('signature', 'SignatureMalleable', exc.message);
    if (exc instanceof SignatureError) throw new VerificationFailure('signature', 'SignatureMalformed', exc.message);
    throw exc;
  }
  if (signer !== device) {
    throw new VerificationFailure('signature', 'SignatureMismatch',
      `the record's content changed after it was signed (or the signature belongs to another ` +
      `record): the signature recovers ${signer}, but the record names device ${device}`);
  }
}

/** [status, detail]: the attributes hash the record commits to, skipped when undisclosed. */
export function checkAttributes(attributes, record) {
  const committed = record.attributesHash;
  if (attributes === null || attributes === undefined) {
    if (equal(committed, ZERO32)) return ['passed', 'the record has no attributes'];
    return ['skipped', `not disclosed; the record commits to ${toHex(committed)}`];
  }
  let computed;
  try {
    computed = attributesHash(attributes);
  } catch (exc) {
    throw new VerificationFailure('attributes', 'AttributesMismatch', `attributes have no canonical JSON: ${exc.message}`);
  }
  if (!equal(computed, committed)) {
    throw new VerificationFailure('attributes', 'AttributesMismatch',
      `attributes hash to ${toHex(computed)}, the record commits to ${toHex(committed)}`);
  }
  return ['passed', `${Object.keys(attributes).length} attributes hash to ${toHex(committed)}`];
}

const bitLength = (n) => (n <= 0 ? 0 : Math.floor(Math.log2(n)) + 1);

export function checkMerklePath(leaf, proof, root, leafCount) {
  const lo = bitLength(leafCount) - 1;
  const hi = bitLength(2 * leafCount - 1);
  if (proof.length < lo || proof.length >= hi) {
    throw new VerificationFailure('merkle-path', 'MerklePathInvalid',
      `a proof of ${proof.length} nodes cannot come from a tree of ${leafCount} leaves`);
  }
  let folded;
  try {
    folded = processProof(leaf, proof);
  } catch (exc) {
    if (exc instanceof MerkleError) throw new VerificationFailure('merkle-path', 'MerklePathInvalid', exc.message);
    throw exc;
  }
  if (!equal(folded, root)) {
    throw new VerificationFailure('merkle-path', 'MerklePathInvalid', `the path folds to ${toHex(folded)}, not to the batch root`);
  }
}

// A v1 manifest as the ledger anchored it: its model's fields, defaults filled in.
export function manifestHash(batch) {
  const m = batch.manifest;
  return keccak_256(canonicalBytes({ format: 'carbon-ledger/batch-manifest', version: 1, ...m }));
}

/** What a batch's stated manifest counts: the whole batch (v1) or one v2 section. */
export function manifestView(batch) {
  if (batch.manifest) {
    const m = batch.manifest;
    return { whole: true, enterprise: null, kinds: m.kinds, devices: m.devices, covers: () => true };
  }
  const s = batch.section;
  return { whole: false, enterprise: s.enterprise, kinds: s.kinds, devices: s.devices,
    covers: (enterprise) => s.enterprise === enterprise };
}

const manifestMismatch = (reason) => new VerificationFailure('manifest', 'ManifestMismatch', reason);
const SECTION_LEAF_KIND = 0xff;

// A v2 section: its leaf folds by its path to the anchored hash, its counts agree.
function checkSection(batch, statedHash) {
  const section = { format: 'carbon-ledger/manifest-section', version: 1, ...batch.section };
  const bad = batch.sectionProof.findIndex((n) => !NODE.test(n));
  if (bad >= 0) throw manifestMismatch(`sectionProof[${bad}] is not 0x + 64 hex digits`);
  let leaf;
  try {
    leaf = leafHash(SECTION_LEAF_KIND, keccak_256(canonicalBytes(section)), ZERO32);
  } catch (exc) {
    throw manifestMismatch(`the manifest section has no canonical JSON: ${exc.message}`);
  }
  const folded = processProof(leaf, batch.sectionProof.map(fromHex));
  if (!equal(folded, statedHash)) {
    throw manifestMismatch(`the manifest section folds to ${toHex(folded)}, not ${batch.manifestHash}`);
  }
  const byKind = Object.values(section.kinds).reduce((a, b) => a + b, 0);
  if (byKind !== section.leafCount || section.leafCount > batch.leafCount) {
    throw manifestMismatch(`the section counts ${section.leafCount} leaves, by kind ${byKind}, in a batch of ${batch.leafCount}`);
  }
  const devices = section.devices.map((d) => d.device.toLowerCase());
  const records = section.kinds['1'] ?? 0;
  if (new Set(devices).size !== devices.length || section.devices.reduce((a, d) => a + d.count, 0) !== records) {
    throw manifestMismatch("the section's devices do not account for its activity records once each");
  }
}

/** The stated manifest (v1) or section (v2) is the one the stated hash commits to, and its
 * counts agree with the batch's; returns what it counts. */
export function checkManifestCounts(batch, statedHash) {
  if (!batch.manifest) {
    checkSection(batch, statedHash);
    return manifestView(batch);
  }
  const computed = manifestHash(batch);
  if (!equal(computed, statedHash)) {
    throw manifestMismatch(`manifest hashes to ${toHex(computed)}, not ${batch.manifestHash}`);
  }
  const kinds = Object.values(batch.manifest.kinds).reduce((a, b) => a + b, 0);
  if (batch.manifest.leafCount !== batch.leafCount || kinds !== batch.leafCount) {
    throw manifestMismatch(`manifest counts disagree with the batch's ${batch.leafCount}`);
  }
  return manifestView(batch);
}

/** A registry event in a bundle is a v1 event hashing to the stated kind-3 leaf, under its
 * root, in a batch whose manifest holds; `fail(reason)` makes the failure. */
export function checkRegistryEvent(proof, nodes, claim, fail) {
  const event = proof.event;
  if (event.format !== 'carbon-ledger/registry-event' || event.version !== 1) {
    throw fail('not a carbon-ledger/registry-event v1 event');
  }
  let digest;
  try {
    digest = keccak_256(canonicalBytes(event));
  } catch (exc) {
    throw fail(`the event has no canonical JSON: ${exc.message}`);
  }
  const expected = leafHash(LeafKind.REGISTRY_EVENT, digest, ZERO32);
  const leaf = proof.leaf;
  if (leaf.kind !== 3 || leaf.digest !== toHex(digest) || leaf.aux !== toHex(ZERO32) || leaf.hash !== toHex(expected)) {
    throw fail('the event does not hash to its kind-3 leaf');
  }
  let view;
  try {
    checkMerklePath(expected, nodes, claim.root, proof.batch.leafCount);
    view = checkManifestCounts(proof.batch, claim.manifestHash);
  } catch (exc) {
    if (exc instanceof VerificationFailure) throw fail(exc.reason);
    throw exc;
  }
  if ((view.kinds['3'] ?? 0) < 1) throw fail("the event's batch manifest counts no registry event");
}

// --- on-chain checks ------------------------------------------------------------------------

const BATCH_OF = keccak_256(utf8('batchOf(bytes32)')).subarray(0, 4);
const ANCHORED_TOPIC = keccak_256(utf8('Anchored(uint256,bytes32,uint64,bytes32)'));

async function checkChainId(rpc, expected) {
  const served = await rpc.chainId();
  if (served !== expected) {
    throw new VerificationFailure('chain-id', 'ChainIdMismatch', `the endpoint serves chain ${served}, the bundle names ${expected}`);
  }
}

async function checkContractCode(rpc, contract, trust) {
  const code = await rpc.getCode(contract);
  if (!code.length) {
    throw new VerificationFailure('contract-code', 'ContractCodeMismatch', `no contract code at ${toHex(contract)} on this chain`);
  }
  const codeHash = toHex(keccak_256(code));
  const trusted = trust.contracts.find((c) => c.runtimeCodeKeccak256.toLowerCase() === codeHash);
  if (!trusted) {
    throw new VerificationFailure('contract-code', 'ContractCodeMismatch', `runtime code hash ${codeHash} is not a trusted build`);
  }
  return trusted;
}

async function checkAnchored(rpc, claim) {
  const answer = await rpc.call(claim.contract, new Uint8Array([...BATCH_OF, ...claim.root]));
  if (answer.length !== 128) {
    throw new VerificationFailure('anchored', 'AnchorMismatch', `batchOf returned ${answer.length} bytes, expected 128`);
  }
  const [batchId, leafCount, blockNumber] = [0, 32, 64].map((i) => toBigInt(answer.subarray(i, i + 32)));
  if (leafCount === 0n) {
    throw new VerificationFailure('anchored', 'RootNotAnchored', `root ${toHex(claim.root)} is not anchored in this contract`);
  }
  for (const [name, same] of [
    ['leafCount', leafCount === BigInt(claim.leafCount)],
    ['manifestHash', equal(answer.subarray(96, 128), claim.manifestHash)],
    ['batchId', batchId === BigInt(claim.batchId)],
    ['blockNumber', blockNumber === BigInt(claim.blockNumber)],
  ]) {
    if (!same) throw new VerificationFailure('anchored', 'AnchorMismatch', `${name} on chain differs from the bundle's`);
  }
}

const locationMismatch = (reason) => new VerificationFailure('anchor-location', 'AnchorLocationMismatch', reason);

async function checkAnchorLocation(rpc, claim) {
  const receipt = await rpc.getTransactionReceipt(claim.txHash);
  if (receipt === null) throw locationMismatch(`transaction ${toHex(claim.txHash)} is not on this chain`);
  if (receipt.status !== 1 || !receipt.to || !equal(receipt.to, claim.contract)) {
    throw locationMismatch('the transaction is not a successful call of the contract');
  }
  if (receipt.blockNumber !== claim.blockNumber || !equal(receipt.blockHash, claim.blockHash)) {
    throw locationMismatch('the transaction sits in another block than the bundle\'s');
  }
  const log = receipt.logs.find((e) => e.logIndex === claim.logIndex);
  if (!log || log.removed || !equal(log.address, claim.contract)) {
    throw locationMismatch(`no log of the contract at index ${claim.logIndex}`);
  }
  const topics = [ANCHORED_TOPIC, word(claim.batchId), claim.root];
  const data = new Uint8Array([...word(claim.leafCount), ...claim.manifestHash]);
  const sameTopics = log.topics.length === 3 && topics.every((t, i) => equal(t, log.topics[i]));
  if (!sameTopics || !equal(log.data, data)) {
    throw locationMismatch(`log ${claim.logIndex} is not this batch's Anchored event`);
  }
}

export function skipOnchain(p) {
  for (const name of ONCHAIN_CHECKS) p.add(name, 'offline', 'skipped');
}

/** Each anchored root once, in order; one root stated at two anchors is refused. */
export function uniqueRoots(claims) {
  const unique = new Map();
  for (const claim of claims) {
    const root = toHex(claim.root);
    if (!unique.has(root)) unique.set(root, claim);
    else if (claimKey(unique.get(root)) !== claimKey(claim)) {
      throw new VerificationFailure('anchored', 'AnchorMismatch', `root ${root} is claimed at two anchors`);
    }
  }
  return [...unique.values()];
}

export async function nameTheClaim(check, claim, fn) {
  const prefix = check === 'anchored' ? `root ${toHex(claim.root)}: ` : `batch ${claim.batchId}: `;
  try {
    return await fn();
  } catch (exc) {
    if (!(exc instanceof VerificationFailure)) throw exc;
    throw new VerificationFailure(exc.check, exc.code, prefix + exc.reason);
  }
}

/** 'chain-id', 'contract-code', then every distinct claim 'anchored', then 'anchor-location'. */
export async function runOnchain(rpc, trust, chainId, contract, stated, p, options = {}) {
  const distinct = options.distinct ?? uniqueRoots;
  const reraise = options.reraise ?? nameTheClaim;
  await checkChainId(rpc, chainId);
  p.add('chain-id', `chain ${chainId}`);
  const trusted = await checkContractCode(rpc, contract, trust);
  p.add('contract-code', `${trusted.contractName} ${trusted.compilerVersion}`.trim());
  const claims = distinct(stated);
  const lines = options.details ? options.details(claims)
    : { anchored: `${claims.length} roots anchored as stated`, located: `${claims.length} Anchored events where stated` };
  for (const claim of claims) await reraise('anchored', claim, () => checkAnchored(rpc, claim));
  p.add('anchored', lines.anchored);
  for (const claim of claims) await reraise('anchor-location', claim, () => checkAnchorLocation(rpc, claim));
  p.add('anchor-location', lines.located);
}

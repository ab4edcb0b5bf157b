// Verifying a record proof bundle (docs/proof-format.md; verifier/checks/record.py): fourteen
// checks in a fixed order, the first failure ends the run.
import { equal, fromHex, toHex } from '../protocol/bytes.mjs';
import { keccak256, parseAddress } from '../protocol/keccak.mjs';
import { LeafKind, leafHash } from '../protocol/leaves.mjs';
import { InvalidRecord, parseTypedData, recordDigest } from '../protocol/typed-data.mjs';
import { checkAuthorization } from './authorization.mjs';
import { checkRecordRegistry } from './record-registry.mjs';
import {
  anchorClaim, bundleInvalid, checkAttributes, checkManifestCounts, checkMerklePath, checkSignature,
  claimKey, decodeNodes, ONCHAIN_CHECKS, readBundle, runChecks, runOnchain, skipOnchain, VerificationFailure,
} from './kernel.mjs';
import { Anchor, Batch, Leaf, RegistryProof, SIGNATURE, anyObject, list, nullable, object, str, oneOf, literal } from './shapes.mjs';

export const RECORD_PROOF_FORMAT = 'carbon-ledger/record-proof';
export const CHECKS = ['bundle', 'typed-data', 'signature', 'attributes', 'leaf', 'merkle-path',
  'manifest', 'authorization', 'registry-signatures', 'registry-chain', ...ONCHAIN_CHECKS];

const RecordProof = object({
  format: literal(RECORD_PROOF_FORMAT),
  version: oneOf(1, 2),
  typedData: anyObject,
  signature: str(SIGNATURE),
  attributes: nullable(anyObject),
  leaf: Leaf,
  proof: list(str()),
  batch: Batch,
  anchor: Anchor,
  authorization: list(RegistryProof, 1),
  registry: nullable(list(RegistryProof)),
}, ['attributes', 'registry']);

function checkBundle(data) {
  const bundle = readBundle(data, RECORD_PROOF_FORMAT, RecordProof, [1, 2]);
  const proof = decodeNodes(bundle.proof, 'proof');
  try {
    return { bundle, signature: fromHex(bundle.signature), proof, claim: anchorClaim(bundle.batch, bundle.anchor) };
  } catch (exc) {
    throw bundleInvalid(exc.message);
  }
}

function checkTypedData(bundle, claim) {
  let domain, record;
  try {
    [domain, record] = parseTypedData(bundle.typedData);
  } catch (exc) {
    if (exc instanceof InvalidRecord || exc instanceof TypeError) {
      throw new VerificationFailure('typed-data', 'TypedDataInvalid', `not an ActivityRecord document: ${exc.message}`);
    }
    throw exc;
  }
  const anchor = bundle.anchor;
  if (domain.chainId !== BigInt(anchor.chainId)) {
    throw new VerificationFailure('typed-data', 'DomainMismatch', `record signed for chain ${domain.chainId}, anchored on chain ${anchor.chainId}`);
  }
  if (!equal(parseAddress(domain.verifyingContract), claim.contract)) {
    throw new VerificationFailure('typed-data', 'DomainMismatch',
      `record signed for contract ${domain.verifyingContract}, anchored in ${anchor.contract}`);
  }
  return [domain, record];
}

function checkLeaf(stated, digest, signature) {
  const aux = keccak256(signature);
  const expected = { kind: LeafKind.ACTIVITY_RECORD, digest: toHex(digest), aux: toHex(aux),
    hash: toHex(leafHash(LeafKind.ACTIVITY_RECORD, digest, aux)) };
  for (const [name, value] of Object.entries(expected)) {
    if (stated[name] !== value) {
      throw new VerificationFailure('leaf', 'LeafMismatch', `leaf ${name} is ${stated[name]}, recomputed ${value}`);
    }
  }
  return fromHex(expected.hash);
}

const manifestMismatch = (reason) => new VerificationFailure('manifest', 'ManifestMismatch', reason);

function checkManifest(batch, claim, record) {
  const manifest = checkManifestCounts(batch, claim.manifestHash);
  if (!manifest.covers(record.enterprise)) {
    throw manifestMismatch(`the manifest section is '${manifest.enterprise}''s, the record '${record.enterprise}''s`);
  }
  if ((manifest.kinds['1'] ?? 0) < 1) throw manifestMismatch('manifest counts no leaf of kind 1');
  const device = parseAddress(record.device);
  const entry = manifest.devices.find((d) => equal(parseAddress(d.device), device));
  if (!entry) throw manifestMismatch(`device ${record.device} is not in the manifest`);
  if (!(entry.firstSeq <= record.seq && record.seq <= entry.lastSeq)) {
    throw manifestMismatch(`seq ${record.seq} is outside the manifest's ${entry.firstSeq}..${entry.lastSeq}`);
  }
  return `device seq ${record.seq} within ${entry.firstSeq}..${entry.lastSeq}`;
}

function summary(record, digest) {
  const q = record.quantity.toString().padStart(record.decimals + 1, '0');
  const value = record.decimals ? `${q.slice(0, -record.decimals)}.${q.slice(-record.decimals)}` : q;
  return { digest: toHex(digest), device: record.device, enterprise: record.enterprise, source: record.source,
    seq: record.seq, activity: record.activity, quantity: record.quantity.toString(), decimals: record.decimals,
    value, unit: record.unit, periodStart: record.periodStart, periodEnd: record.periodEnd };
}

async function run(data, rpc, trust, p) {
  const { bundle, signature, proof, claim } = checkBundle(data);
  p.add('bundle', `${bundle.format} v${bundle.version}`);
  const [domain, record] = checkTypedData(bundle, claim);
  p.add('typed-data', `chain ${domain.chainId}, contract ${domain.verifyingContract}`);
  const digest = recordDigest(domain, record);
  p.summary = summary(record, digest);
  checkSignature(digest, signature, record.device);
  p.add('signature', `signed by device ${record.device}`);
  const [status, detail] = checkAttributes(bundle.attributes ?? null, record);
  p.add('attributes', detail, status);
  const leaf = checkLeaf(bundle.leaf, digest, signature);
  p.add('leaf', `kind 1, hash ${bundle.leaf.hash}`);
  checkMerklePath(leaf, proof, claim.root, bundle.batch.leafCount);
  p.add('merkle-path', `${proof.length} nodes up to root ${bundle.batch.root}`);
  p.add('manifest', checkManifest(bundle.batch, claim, record));
  const [authorised, eventClaims] = checkAuthorization(bundle.authorization, record, claim.blockNumber);
  p.add('authorization', authorised);
  eventClaims.push(...checkRecordRegistry(bundle, record, domain, claim.blockNumber, p));
  if (!rpc) return skipOnchain(p);
  const anchor = bundle.anchor;
  // A record bundle's failures name no root, and each distinct claim is checked once.
  await runOnchain(rpc, trust, anchor.chainId, claim.contract, [claim, ...eventClaims], p, {
    distinct: (stated) => [...new Map(stated.map((c) => [claimKey(c), c])).values()],
    reraise: (_check, _claim, fn) => fn(),
    details: (claims) => ({
      anchored: `batch ${anchor.batchId} of ${bundle.batch.leafCount} leaves` +
        (claims.length > 1 ? ` and ${claims.length - 1} registry batch(es)` : ''),
      located: `tx ${anchor.txHash}, block ${anchor.blockNumber}`,
    }),
  });
}

/** Every check in CHECKS order; the on-chain ones are skipped without `rpc`. */
export function verifyRecord(data, { rpc = null, trust, onCheck } = {}) {
  return runChecks(CHECKS, (p) => run(data, rpc, trust, p), onCheck);
}

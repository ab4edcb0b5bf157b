// What a v2+ figure proof shows about each counted terminal (verifier/checks/devices.py): that
// it was authorised for every record it signed (check 'authorization'), and that the period's
// edges are closed (part of check 'completeness').
import { equal, fromHex } from '../protocol/bytes.mjs';
import { keccak256, parseAddress, toChecksumAddress } from '../protocol/keccak.mjs';
import { LeafKind, leafHash } from '../protocol/leaves.mjs';
import { recordDigest, recordFromMessage } from '../protocol/typed-data.mjs';
import {
  anchorClaim, checkManifestCounts, checkMerklePath, checkRegistryEvent, checkSignature, decodeNodes,
  VerificationFailure,
} from './kernel.mjs';

const REGISTERED = 'device.registered';
const ENDED = ['device.revoked', 'device.rotated'];
const notAuthorised = (reason) => new VerificationFailure('authorization', 'TerminalNotAuthorised', reason);
const edgeOpen = (reason) => new VerificationFailure('completeness', 'PeriodEdgeUnproven', reason);
const reasonOf = (exc) => (exc instanceof VerificationFailure ? exc.reason : exc.message);

const sameAnchor = (anchor, claim, domain) =>
  BigInt(anchor.chainId) === domain.chainId && equal(claim.contract, parseAddress(domain.verifyingContract));

function eventClaim(proof, where, device, domain) {
  let nodes, claim;
  try {
    nodes = decodeNodes(proof.proof, 'proof');
    claim = anchorClaim(proof.batch, proof.anchor);
  } catch (exc) {
    throw notAuthorised(`${where}: ${reasonOf(exc)}`);
  }
  checkRegistryEvent(proof, nodes, claim, (reason) => notAuthorised(where + reason));
  if (proof.event.subject !== device) throw notAuthorised(`${where}is about ${proof.event.subject}, not ${device}`);
  if (!sameAnchor(proof.anchor, claim, domain)) throw notAuthorised(`${where}is anchored on another chain or contract`);
  return claim;
}

const ints = (events, types, name) =>
  new Set(events.filter((e) => types.includes(e.type) && Number.isInteger(e[name])).map((e) => e[name]));

function authority(d, evidence, domain) {
  const device = toChecksumAddress(parseAddress(evidence.device));
  const claims = evidence.registry.map((p, i) => eventClaim(p, `devices[${d}].registry[${i}]: `, device, domain));
  const events = evidence.registry.map((p) => p.event);
  const bindings = new Set();
  for (const e of events) {
    if (e.type === REGISTERED) for (const source of e.sources ?? []) bindings.add(JSON.stringify([e.enterprise ?? null, source]));
  }
  const ended = events.map((e, i) => (ENDED.includes(e.type) ? claims[i].blockNumber : null)).filter((b) => b !== null);
  return { device, bindings, endedBlock: ended.length ? Math.min(...ended) : null,
    firstSeq: ints(events, [REGISTERED], 'firstSeq'), lastSeq: ints(events, ENDED, 'lastSeq'), claims };
}

const sorted = (items) => [...items].sort();

/** Each counted device has its evidence once, and no other device has any. */
export function checkDeviceEvidence(evidence, counted, domain) {
  const authorities = new Map();
  evidence.forEach((item, d) => {
    const a = authority(d, item, domain);
    if (authorities.has(a.device)) throw notAuthorised(`devices[${d}]: ${a.device} appears twice`);
    authorities.set(a.device, a);
  });
  const missing = sorted([...counted.keys()].filter((k) => !authorities.has(k)));
  if (missing.length) throw notAuthorised(`the bundle shows no registry event of device ${missing[0]}`);
  const extra = sorted([...authorities.keys()].filter((k) => !counted.has(k)));
  if (extra.length) throw notAuthorised(`device ${extra[0]} has evidence but the entry counts none`);
  return authorities;
}

/** Every record's terminal was registered for its enterprise and source, and not revoked or
 * rotated before the record was anchored; `records` yields [index, record, block]. */
export function checkAuthorised(authorities, records) {
  for (const [i, record, block] of records) {
    const a = authorities.get(record.device);
    if (!a || !a.bindings.has(JSON.stringify([record.enterprise, record.source]))) {
      throw notAuthorised(`records[${i}]: no anchored registration binds ${record.device} to ${record.enterprise} / ${record.source}`);
    }
    if (a.endedBlock !== null && block > a.endedBlock) {
      throw notAuthorised(`records[${i}] was anchored in block ${block}, after terminal ${record.device} was revoked or rotated in block ${a.endedBlock}`);
    }
  }
}

function edgeRecord(edge, where, domain) {
  let record, signature;
  try {
    record = recordFromMessage(edge.record.message);
    signature = fromHex(edge.record.signature);
  } catch (exc) {
    throw edgeOpen(`${where}not an ActivityRecord message: ${exc.message}`);
  }
  const digest = recordDigest(domain, record);
  try {
    checkSignature(digest, signature, record.device);
  } catch (exc) {
    if (exc instanceof VerificationFailure) throw edgeOpen(where + exc.reason);
    throw exc;
  }
  return [record, leafHash(LeafKind.ACTIVITY_RECORD, digest, keccak256(signature))];
}

function checkEdge(edge, where, device, seq, domain) {
  const [record, leaf] = edgeRecord(edge, where, domain);
  if (record.device !== device || record.seq !== seq) {
    throw edgeOpen(`${where}is seq ${record.seq} of ${record.device}, not seq ${seq} of ${device}`);
  }
  let claim;
  try {
    claim = anchorClaim(edge.batch, edge.anchor);
    checkMerklePath(leaf, decodeNodes(edge.proof, 'proof'), claim.root, edge.batch.leafCount);
    checkManifestCounts(edge.batch, claim.manifestHash);
  } catch (exc) {
    throw edgeOpen(`${where}${reasonOf(exc)}`);
  }
  if (!sameAnchor(edge.anchor, claim, domain)) throw edgeOpen(`${where}is anchored on another chain or contract`);
  return [record, claim];
}

function before(item, a, stated, period, domain) {
  const first = stated.firstSeq;
  const where = `device ${a.device}: the reading before the period `;
  if (item.before === null || item.before === undefined) {
    if (a.firstSeq.has(first)) return null;
    throw edgeOpen(`device ${a.device}: the first reading counted is seq ${first}, but the bundle shows neither seq ${first - 1} nor a registration starting at seq ${first}: earlier readings of the period may have been left out`);
  }
  const [record, claim] = checkEdge(item.before, where, a.device, first - 1, domain);
  if (record.periodEnd > period.startTs) {
    throw edgeOpen(`${where}(seq ${first - 1}) ends at ${record.periodEnd}, after the period starts at ${period.startTs}: it belongs in the period`);
  }
  return claim;
}

function after(item, a, stated, period, domain) {
  const last = stated.lastSeq;
  const where = `device ${a.device}: the reading after the period `;
  if (item.after === null || item.after === undefined) {
    if (a.lastSeq.has(last)) return null;
    throw edgeOpen(`device ${a.device}: the last reading counted is seq ${last}, but the bundle shows neither seq ${last + 1} nor a revocation ending at seq ${last}: later readings of the period may have been left out`);
  }
  const [record, claim] = checkEdge(item.after, where, a.device, last + 1, domain);
  if (record.periodStart < period.endTs) {
    throw edgeOpen(`${where}(seq ${last + 1}) starts at ${record.periodStart}, before the period ends at ${period.endTs}: it belongs in the period`);
  }
  return claim;
}

/** The readings just outside the period on both sides of every counted device (or the registry
 * events proving there are none); returns their anchors for the on-chain checks. */
export function checkEdges(evidence, authorities, counted, period, domain) {
  const claims = [];
  for (const item of evidence) {
    const device = toChecksumAddress(parseAddress(item.device));
    for (const side of [before, after]) {
      const claim = side(item, authorities.get(device), counted.get(device), period, domain);
      if (claim) claims.push(claim);
    }
  }
  return claims;
}

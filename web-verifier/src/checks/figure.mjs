// Verifying a figure proof bundle (docs/figure-proof-format.md; verifier/checks/figure.py):
// the entry is an anchored leaf, every record is signed and anchored, the records are exactly
// the entry's, and accounting them with the disclosed factor set (and grading with the
// disclosed ruleset) gives the entry's figures digit for digit.
import { keccak_256 } from '@noble/hashes/sha3';
import { canonicalBytes } from '../protocol/canonical.mjs';
import { compare, concat, equal, fromHex, toHex, ZERO32 } from '../protocol/bytes.mjs';
import { keccak256, parseAddress, toChecksumAddress } from '../protocol/keccak.mjs';
import { LeafKind, leafHash } from '../protocol/leaves.mjs';
import { MerkleError, processMultiproof } from '../protocol/merkle.mjs';
import { InvalidRecord, makeDomain, recordDigest, recordFromMessage, signedByMany } from '../protocol/typed-data.mjs';
import { checkAuthorised, checkDeviceEvidence, checkEdges } from './devices.mjs';
import { checkFactorSet, checkFigures, checkRating } from './figures.mjs';
import { runInputChecks } from './inputs.mjs';
import { refuseMarketBased, runScope2Check } from './scope2.mjs';
import { runPublicationCheck } from './publication.mjs';
import { runSupersessionCheck } from './supersession.mjs';
import { REGISTRY_CHECKS, runRegistryChecks } from './registry.mjs';
import {
  anchoredReadings, checkRegisterCount, checkRegisterInclusion, describeRegisters, readRegisters,
  registerDeviceEvidence, registerQuantities, registerSources,
} from './registers.mjs';
import {
  anchorClaim, bundleInvalid, checkAttributes, checkManifestCounts, checkMerklePath, checkSignature,
  decodeNodes, manifestView, ONCHAIN_CHECKS, prefixed, readBundle, runChecks, runOnchain, skipOnchain,
  validate, VerificationFailure,
} from './kernel.mjs';
import { Entry, FigureProof } from './figure-shapes.mjs';

export const FIGURE_PROOF_FORMAT = 'carbon-ledger/figure-proof';
export const FIGURE_CHECKS = ['bundle', 'entry-leaf', 'period', 'records', 'record-inclusion',
  'authorization', ...REGISTRY_CHECKS, 'completeness', 'factor-set', 'figures', 'scope2', 'rating', 'inputs', 'supersession', 'publication', ...ONCHAIN_CHECKS];
const VERSIONS = [1, 2, 3];
const V1_AUTHORIZATION = "a v1 bundle does not show its terminals' registrations: records of an unregistered or revoked key are not ruled out";
const fail = (check, code, reason) => new VerificationFailure(check, code, reason);

// --- check 1 --------------------------------------------------------------------------------

function checkBundle(data) {
  const bundle = readBundle(data, FIGURE_PROOF_FORMAT, FigureProof, VERSIONS);
  if ((bundle.version >= 2) !== Boolean(bundle.devices?.length || bundle.registers)) {
    throw bundleInvalid("a v2 bundle needs its devices' evidence, a v1 bundle has none");
  }
  const e = bundle.entry;
  if (e.format !== 'carbon-ledger/evaluation' || e.version !== 1) {
    throw bundleInvalid(`entry is ${JSON.stringify(e.format)} v${JSON.stringify(e.version)}, not carbon-ledger/evaluation v1`);
  }
  const entry = validate(Entry, e, 'entry');
  try {
    const devices = new Map(entry.records.devices.map((d) => [toChecksumAddress(parseAddress(d.device)), d]));
    return {
      bundle, entry, devices,
      domain: makeDomain(bundle.domain.chainId, bundle.domain.verifyingContract),
      entryProof: decodeNodes(bundle.entryProof.proof, 'entryProof.proof'),
      entryClaim: anchorClaim(bundle.entryProof.batch, bundle.entryProof.anchor),
      batches: bundle.batches.map((batch, b) => ({
        claim: anchorClaim(batch.batch, batch.anchor),
        leaves: decodeNodes(batch.leaves, `batches[${b}].leaves`),
        proof: decodeNodes(batch.proof, `batches[${b}].proof`),
      })),
      signatures: bundle.records.map((r) => fromHex(r.signature)),
    };
  } catch (exc) {
    if (exc instanceof VerificationFailure) throw exc;
    throw bundleInvalid(exc.message);
  }
}

// --- check 2 --------------------------------------------------------------------------------

function checkEntryLeaf(w) {
  const { bundle, entry } = w;
  let digest;
  try {
    digest = keccak_256(canonicalBytes(bundle.entry));
  } catch (exc) {
    throw fail('entry-leaf', 'EntryLeafMismatch', `the entry has no canonical JSON: ${exc.message}`);
  }
  const hashed = leafHash(LeafKind.LEDGER_ENTRY, digest, ZERO32);
  const stated = bundle.entryProof.leaf;
  for (const [name, value] of [['kind', 2], ['digest', toHex(digest)], ['aux', toHex(ZERO32)], ['hash', toHex(hashed)]]) {
    if (stated[name] !== value) throw fail('entry-leaf', 'EntryLeafMismatch', `entry leaf ${name} is ${stated[name]}, not ${value}`);
  }
  const batch = bundle.entryProof.batch;
  prefixed('entry: ', () => checkMerklePath(hashed, w.entryProof, w.entryClaim.root, batch.leafCount), 'entry-leaf', 'EntryPathInvalid');
  const manifest = prefixed('entry batch: ', () => checkManifestCounts(batch, w.entryClaim.manifestHash), 'entry-leaf', 'EntryManifestMismatch');
  if (!manifest.covers(entry.enterprise) || (manifest.kinds['2'] ?? 0) < 1) {
    throw fail('entry-leaf', 'EntryManifestMismatch', `the entry batch's manifest counts no ledger entry of ${entry.enterprise}`);
  }
  return `entry ${entry.identifier} is leaf ${stated.hash} under root ${batch.root}`;
}

// --- check 3 --------------------------------------------------------------------------------

const DAY = 86400;
const dayNumber = (text) => Date.UTC(+text.slice(0, 4), +text.slice(5, 7) - 1, +text.slice(8, 10)) / 1000;
const signed = (n) => (n < 0 ? `${n}` : `+${n}`);

/** Unix seconds of local midnight at start and after end (inclusive dates) in the zone. */
export function periodBounds(start, end, offsetHours) {
  if (!(offsetHours > -24 && offsetHours < 24)) throw new Error('offset must be strictly between -24 and 24 hours');
  if (end === '9999-12-31') throw new Error('date value out of range');
  const shift = offsetHours * 3600;
  return [dayNumber(start) - shift, dayNumber(end) + DAY - shift];
}

function checkPeriod(entry) {
  const p = entry.period;
  let expected;
  try {
    expected = periodBounds(p.start, p.end, p.utcOffsetHours);
  } catch (exc) {
    throw fail('period', 'PeriodMismatch', `the period ${p.start}..${p.end} at UTC${signed(p.utcOffsetHours)} has no timestamps: ${exc.message}`);
  }
  if (p.end < p.start || p.startTs !== expected[0] || p.endTs !== expected[1]) {
    throw fail('period', 'PeriodMismatch', `the entry's dates ${p.start}..${p.end} (UTC${signed(p.utcOffsetHours)}) run from ${expected[0]} to ${expected[1]}, but its timestamps count records from ${p.startTs} to ${p.endTs}`);
  }
  return `${p.start}..${p.end} at UTC${signed(p.utcOffsetHours)} is ${p.startTs}..${p.endTs}`;
}

// --- check 4: every record signed, for this entry -------------------------------------------

function checkDomain(w) {
  const contract = parseAddress(w.domain.verifyingContract);
  const anchors = [['entryProof', w.bundle.entryProof.anchor, w.entryClaim],
    ...w.bundle.batches.map((x, b) => [`batches[${b}]`, x.anchor, w.batches[b].claim])];
  for (const [where, anchor, claim] of anchors) {
    if (BigInt(anchor.chainId) !== w.domain.chainId || !equal(claim.contract, contract)) {
      throw fail('records', 'RecordDomainMismatch', `records are signed for chain ${w.domain.chainId} contract ${w.domain.verifyingContract}; ${where} is anchored on chain ${anchor.chainId} in ${anchor.contract}`);
    }
  }
}

function parseRecord(i, item, w) {
  try {
    const record = recordFromMessage(item.message);
    return { record, digest: recordDigest(w.domain, record) };
  } catch (exc) {
    if (!(exc instanceof InvalidRecord || exc instanceof TypeError)) throw exc;
    throw fail('records', 'RecordInvalid', `records[${i}]: not an ActivityRecord message: ${exc.message}`);
  }
}

function checkRecord(i, item, signature, parsed, signed, w) {
  const where = `records[${i}]: `;
  const { record, digest } = parsed;
  let status;
  try {
    if (!signed) checkSignature(digest, signature, record.device);
    [status] = checkAttributes(item.attributes ?? null, record);
  } catch (exc) {
    if (!(exc instanceof VerificationFailure)) throw exc;
    throw fail('records', `Record${exc.code}`, where + exc.reason);
  }
  if (status === 'skipped') throw fail('records', 'RecordAttributesMismatch', `${where}attributes not disclosed; the figure needs them`);
  const entry = w.entry;
  if (record.enterprise !== entry.enterprise) {
    throw fail('records', 'RecordOutsideEntry', `${where}a record of ${record.enterprise}, not ${entry.enterprise}`);
  }
  const p = entry.period;
  if (!(p.startTs <= record.periodStart && record.periodStart <= record.periodEnd && record.periodEnd <= p.endTs)) {
    throw fail('records', 'RecordOutsideEntry', `${where}measured ${record.periodStart}..${record.periodEnd}, outside the entry's period ${p.startTs}..${p.endTs}`);
  }
  return { record, digest, leaf: leafHash(LeafKind.ACTIVITY_RECORD, digest, keccak256(signature)) };
}

// Records are read up to the first unreadable one, their signatures checked together, then
// each record judged in order: the first failing record is the one named, as one by one.
function checkRecords(w) {
  checkDomain(w);
  const records = w.bundle.records;
  if (!records.length && !w.bundle.registers) throw fail('completeness', 'IncompleteRecords', 'the bundle holds no record');
  const parsed = [];
  let unreadable = null;
  for (const [i, item] of records.entries()) {
    try {
      parsed.push(parseRecord(i, item, w));
    } catch (exc) {
      unreadable = exc;
      break;
    }
  }
  const signed = signedByMany(parsed.map((r, i) => [r.digest, w.signatures[i], parseAddress(r.record.device)]));
  const checked = parsed.map((r, i) => checkRecord(i, records[i], w.signatures[i], r, signed[i], w));
  if (unreadable) throw unreadable;
  return checked;
}

// --- check 5: every record in an anchored batch ---------------------------------------------

const notIncluded = (reason) => fail('record-inclusion', 'RecordNotIncluded', reason);

function checkAssignment(bundle) {
  const home = new Array(bundle.records.length).fill(null);
  bundle.batches.forEach((batch, b) => {
    for (const index of batch.records) {
      if (!(index >= 0 && index < home.length)) throw notIncluded(`batches[${b}] names records[${index}], which is absent`);
      if (home[index] !== null) throw notIncluded(`records[${index}] is in batches[${home[index]}] and [${b}]`);
      home[index] = b;
    }
  });
  const missing = home.indexOf(null);
  if (missing >= 0) throw notIncluded(`records[${missing}] is in no batch of the bundle`);
}

function checkBatch(b, batch, wire, checked, enterprise) {
  if (wire.leaves.length !== batch.records.length) {
    throw fail('record-inclusion', 'RecordLeafMismatch', `batches[${b}] has ${wire.leaves.length} leaves for ${batch.records.length} records`);
  }
  batch.records.forEach((index, k) => {
    if (!equal(wire.leaves[k], checked[index].leaf)) {
      throw fail('record-inclusion', 'RecordLeafMismatch', `batches[${b}].leaves[${k}] is not the leaf of records[${index}]`);
    }
  });
  let root;
  try {
    root = processMultiproof(wire.leaves, wire.proof, batch.proofFlags);
  } catch (exc) {
    if (exc instanceof MerkleError) throw fail('record-inclusion', 'MultiproofInvalid', `batches[${b}]: ${exc.message}`);
    throw exc;
  }
  if (!equal(root, wire.claim.root)) {
    throw fail('record-inclusion', 'MultiproofInvalid', `batches[${b}]: the multiproof folds to ${toHex(root)}, not to root ${batch.batch.root}`);
  }
  const manifest = prefixed(`batches[${b}]: `, () => checkManifestCounts(batch.batch, wire.claim.manifestHash), 'record-inclusion', 'BatchManifestMismatch');
  if (!manifest.covers(enterprise) || (manifest.kinds['1'] ?? 0) < batch.records.length) {
    throw fail('record-inclusion', 'BatchManifestMismatch', `batches[${b}]: the manifest counts fewer records of ${enterprise}`);
  }
}

function checkInclusion(w, checked) {
  checkAssignment(w.bundle);
  w.bundle.batches.forEach((batch, b) => checkBatch(b, batch, w.batches[b], checked, w.entry.enterprise));
  return `${checked.length} records in ${w.bundle.batches.length} anchored batches`;
}

// --- check 6: every terminal authorised ------------------------------------------------------

function* anchoredRecords(w, checked) {
  for (const [b, batch] of w.bundle.batches.entries()) {
    for (const index of batch.records) yield [index, checked[index].record, w.batches[b].claim.blockNumber];
  }
}

function checkAuthorization(w, checked, meters) {
  const evidence = [...w.bundle.devices, ...(meters ? registerDeviceEvidence(meters, w.bundle.registry) : [])];
  const authorities = checkDeviceEvidence(evidence, w.devices, w.domain);
  checkAuthorised(authorities, anchoredRecords(w, checked));
  return authorities;
}

// --- check 7: exactly the entry's records ---------------------------------------------------

const incomplete = (reason) => fail('completeness', 'IncompleteRecords', reason);

function checkDigests(entry, checked) {
  const digests = checked.map((c) => c.digest).sort(compare);
  const twice = digests.findIndex((d, i) => i > 0 && equal(d, digests[i - 1]));
  if (twice > 0) throw incomplete(`record ${toHex(digests[twice])} appears twice`);
  if (digests.length !== entry.records.count) throw incomplete(`${digests.length} records given, the entry counts ${entry.records.count}`);
  const computed = toHex(keccak256(concat(...digests)));
  if (computed !== entry.records.digestsHash) {
    throw incomplete(`the record digests hash to ${computed}, the entry states ${entry.records.digestsHash}`);
  }
}

function seqsByDevice(checked) {
  const byDevice = new Map();
  for (const c of checked) {
    if (!byDevice.has(c.record.device)) byDevice.set(c.record.device, []);
    byDevice.get(c.record.device).push(c.record);
  }
  for (const records of byDevice.values()) records.sort((a, b) => a.seq - b.seq);
  return byDevice;
}

function checkDevice(device, stated, records) {
  const { firstSeq: first, lastSeq: last } = stated;
  if (stated.count !== last - first + 1) {
    throw incomplete(`the entry counts ${stated.count} records of ${device} in seq ${first}..${last}: a gap`);
  }
  const seqs = records.map((r) => r.seq);
  const contiguous = seqs.length === last - first + 1 && seqs.every((s, k) => s === first + k);
  if (!contiguous) {
    const gap = seqs.find((s, k) => k <= last - first && s !== first + k);
    throw incomplete(`device ${device}: records are seq ${seqs[0]}..${seqs.at(-1)} (${seqs.length}), the entry counts ${first}..${last}` +
      (gap !== undefined ? `; seq ${gap} is out of place` : ''));
  }
  if (records[0].source !== stated.source) {
    throw incomplete(`device ${device} measured ${records[0].source}, the entry states ${stated.source}`);
  }
}

function checkDevices(w, byDevice) {
  const extra = [...byDevice.keys()].filter((d) => !w.devices.has(d)).sort();
  if (extra.length) throw incomplete(`device ${extra[0]} has records but the entry counts none`);
  for (const device of [...w.devices.keys()].sort()) {
    const records = byDevice.get(device);
    if (!records?.length) throw incomplete(`the entry counts device ${device}, the bundle has none`);
    checkDevice(device, w.devices.get(device), records);
  }
}

function checkBoundary(entry, checked, metered = []) {
  const covered = new Set([...checked.map((c) => c.record.source), ...metered]);
  const boundary = new Set(entry.boundary.sources);
  const missing = [...boundary].filter((s) => !covered.has(s)).sort();
  if (missing.length) throw fail('completeness', 'SourceNotCovered', `boundary source ${missing[0]} has no record`);
  const outside = [...covered].filter((s) => !boundary.has(s)).sort();
  if (outside.length) throw fail('completeness', 'SourceOutsideBoundary', `source ${outside[0]} is not in the entry's boundary`);
}

// Per device: the given records lie in the manifest's range, and where that range lies wholly
// inside the entry's, the batch holds no record of it that the bundle leaves out.
function checkBatchCounts(b, batch, w, checked) {
  const given = new Map();
  for (const index of batch.records) {
    const r = checked[index].record;
    if (!given.has(r.device)) given.set(r.device, []);
    given.get(r.device).push(r.seq);
  }
  const ranges = new Map(manifestView(batch.batch).devices.map((d) => [toChecksumAddress(parseAddress(d.device)), d]));
  for (const device of [...given.keys()].sort()) {
    const seqs = given.get(device);
    const held = ranges.get(device);
    if (!held || !(held.firstSeq <= Math.min(...seqs) && Math.max(...seqs) <= held.lastSeq)) {
      throw fail('completeness', 'BatchIncomplete', `batches[${b}]: the manifest does not hold the records of ${device} given for it`);
    }
  }
  for (const device of [...ranges.keys()].sort()) {
    const held = ranges.get(device);
    const stated = w.devices.get(device);
    const inside = stated && stated.firstSeq <= held.firstSeq && held.firstSeq <= held.lastSeq && held.lastSeq <= stated.lastSeq;
    const count = given.get(device)?.length ?? 0;
    if (inside && count !== held.count) {
      throw fail('completeness', 'BatchIncomplete', `batches[${b}] holds ${held.count} records of ${device} in the entry's range, the bundle gives ${count}`);
    }
  }
}

function checkCompleteness(w0, checked, authorities, meters) {
  // Register devices (section 11) are checked by their readings, the rest record by record.
  const metered = meters ? meters.addresses : new Set();
  const w = { ...w0, devices: new Map([...w0.devices].filter(([k]) => !metered.has(k))) };
  if (meters) checkRegisterCount(w0.entry, checked.length, w.devices);
  else checkDigests(w.entry, checked);
  checkDevices(w, seqsByDevice(checked));
  checkBoundary(w.entry, checked, meters ? registerSources(meters) : []);
  w.bundle.batches.forEach((batch, b) => checkBatchCounts(b, batch, w, checked));
  const detail = `${checked.length} records, ${w.devices.size} devices contiguous, ${w.entry.boundary.sources.length} sources covered`;
  if (!authorities) return [`${detail}; a v1 bundle does not prove the period's edges`, []];
  const shown = w.bundle.devices.filter((d) => w.devices.has(toChecksumAddress(parseAddress(d.device))));
  const edges = checkEdges(shown, authorities, w.devices, w.entry.period, w.domain);
  return [`${detail}, both edges of the period closed for every device`, edges];
}

// --- the run --------------------------------------------------------------------------------

function runOffline(data, reference, p, published = false) {
  const w = checkBundle(data);
  p.add('bundle', `${w.bundle.format} v${w.bundle.version}, figure ${w.bundle.figure.path}`);
  p.add('entry-leaf', checkEntryLeaf(w));
  p.add('period', checkPeriod(w.entry));
  const checked = checkRecords(w);
  const meters = readRegisters(w.bundle, w.domain, w.entry);
  p.add('records', `${checked.length} records signed by their devices, for this entry${meters ? describeRegisters(meters) : ''}`);
  let included = checkInclusion(w, checked);
  if (meters) included += `; ${checkRegisterInclusion(meters, w.entry.enterprise)}`;
  p.add('record-inclusion', included);
  let authorities = null;
  if (w.bundle.version === 1) p.add('authorization', V1_AUTHORIZATION, 'skipped');
  else {
    authorities = checkAuthorization(w, checked, meters);
    if (meters) checkAuthorised(authorities, anchoredReadings(meters));
    p.add('authorization', `${checked.length} records by ${authorities.size} terminals registered for their sources, none revoked before its record was anchored`);
  }
  const registryClaims = runRegistryChecks(w.bundle, w.entry, w.domain, p);
  const [detail, edgeClaims] = checkCompleteness(w, checked, authorities, meters);
  const meteredQuantities = meters ? registerQuantities(meters, w.devices, authorities ?? new Map(), w.entry) : [];
  p.add('completeness', detail);
  const factorSet = checkFactorSet(w.bundle, w.entry, reference);
  p.add('factor-set', `${factorSet.id} ${factorSet.version} ${factorSet.digest}, published${factorSet.note}`);
  refuseMarketBased(w.entry);
  p.add('figures', checkFigures(w.bundle, w.entry, checked, factorSet, meteredQuantities));
  runScope2Check(w.bundle, w.entry, p);
  const rating = checkRating(w.bundle, w.entry, reference);
  if (rating === null) p.add('rating', 'the entry carries no rating', 'skipped');
  else p.add('rating', rating);
  const inputClaims = runInputChecks(w.bundle, w.entry, w.domain, p);
  const successorClaims = runSupersessionCheck(w.bundle, w.entry, w.domain, p);
  successorClaims.push(...runPublicationCheck(w.bundle, w.entry, w.domain, published, p));
  const events = authorities ? [...authorities.values()].flatMap((a) => a.claims) : [];
  if (meters) events.push(...meters.claims);
  p.summary = { figure: w.bundle.figure.path, value: w.bundle.figure.value };
  return [w, [...events, ...edgeClaims, ...registryClaims, ...inputClaims, ...successorClaims]];
}

async function run(data, rpc, trust, reference, p, published) {
  const [w, evidence] = runOffline(data, reference, p, published);
  if (!rpc) return skipOnchain(p);
  // Each anchored root once: the entry's batch, the record batches in bundle order, then the
  // batches of the devices' registry events and edge readings.
  const stated = [w.entryClaim, ...w.batches.map((b) => b.claim), ...evidence];
  await runOnchain(rpc, trust, w.bundle.domain.chainId, w.entryClaim.contract, stated, p);
}

// `published`: a public page's bundle, which must carry the enterprise's signed statement.
export function verifyFigure(data, { rpc = null, trust, reference, onCheck, published = false } = {}) {
  return runChecks(FIGURE_CHECKS, (p) => run(data, rpc, trust, reference, p, published), onCheck);
}

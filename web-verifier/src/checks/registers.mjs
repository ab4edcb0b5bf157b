// The register form of a figure proof (docs/figure-proof-format.md section 11;
// verifier/checks/registers.py, verifier/protocol/registers.py): a device with a cumulative
// register is proven by its signed readings at the period's edges and at each epoch change.
import { equal, fromHex, toHex } from '../protocol/bytes.mjs';
import { keccak256, parseAddress, toChecksumAddress } from '../protocol/keccak.mjs';
import { LeafKind, leafHash } from '../protocol/leaves.mjs';
import { MerkleError, processMultiproof } from '../protocol/merkle.mjs';
import { recordDigest, recordFromMessage } from '../protocol/typed-data.mjs';
import {
  anchorClaim, bundleInvalid, checkAttributes, checkManifestCounts, checkSignature, decodeNodes,
  VerificationFailure,
} from './kernel.mjs';
import { allSigned } from './signatures.mjs';

const fail = (check, code, reason) => new VerificationFailure(check, code, reason);
const REGISTER_FIELDS = ['register', 'registerEpoch', 'registerOpening'];
const SCALED = /^(0|[1-9][0-9]{0,77})$/;
const MAX_EPOCH = 2 ** 53 - 1;

export function withoutRegisters(attributes) {
  if (attributes === null || attributes === undefined) return null;
  const rest = Object.fromEntries(Object.entries(attributes).filter(([k]) => !REGISTER_FIELDS.includes(k)));
  return Object.keys(rest).length ? rest : null;
}

const sortedJson = (value) => JSON.stringify(value, (_k, v) =>
  (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));

class RegisterError extends Error {}

function scaled(attributes, name) {
  const value = attributes[name];
  if (typeof value !== 'string' || !SCALED.test(value)) throw new RegisterError(`${name} must be a non-negative integer as a decimal string`);
  return BigInt(value);
}

// The record's register attributes; null when it carries none.
function meterReading(record, attributes) {
  if (!attributes || !REGISTER_FIELDS.some((n) => n in attributes)) return null;
  if (!('register' in attributes) || !('registerEpoch' in attributes)) {
    const missing = 'register' in attributes ? 'registerEpoch' : 'register';
    throw new RegisterError(`${missing} is required with any register attribute`);
  }
  const epoch = attributes.registerEpoch;
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) throw new RegisterError('registerEpoch must be an integer from 0 to 2^53-1');
  const opening = 'registerOpening' in attributes ? scaled(attributes, 'registerOpening') : null;
  const register = scaled(attributes, 'register');
  if (opening !== null && opening > register) throw new RegisterError('registerOpening is above the register');
  const meter = JSON.stringify([record.activity, record.source, record.unit, record.decimals, sortedJson(withoutRegisters(attributes) ?? {})]);
  return { register, epoch, opening, quantity: record.quantity, meter };
}

// --- the readings' signatures, all at once ----------------------------------------------------
// A register bundle holds a few readings of each of many devices, so the record form's tables
// of known keys (built for thousands of readings a key) cost more than they save here, and
// recovering each signature on its own is most of the check. Instead the readings are checked
// together (signatures.mjs: one recovery per device, one equation over every reading), and
// each reading alone only when that fails (verifier/checks/registers.py names the first).

function signedItems(evidence) {
  return evidence.devices.flatMap((d) => [d.before, d.first, ...(d.changes ?? []).flatMap((c) => [c.end, c.start]), d.last, d.after])
    .filter((x) => x !== null && x !== undefined).map((x) => x.record);
}

/** The readings parsed, by their signed object, and whether all of their signatures hold. */
function provenSignatures(evidence, domain) {
  const parsed = new Map();
  try {
    for (const signed of signedItems(evidence)) {
      try {
        const record = recordFromMessage(signed.message);
        const signature = fromHex(signed.signature);
        parsed.set(signed, { record, signature, digest: recordDigest(domain, record), signer: record.device });
      } catch {
        // Left to the reading's own check, which names what is wrong with it.
      }
    }
    return { parsed, all: allSigned([...parsed.values()]) };
  } catch {
    return { parsed: new Map(), all: false };
  }
}

function parseReading(signed, where, domain) {
  let record, signature;
  try {
    record = recordFromMessage(signed.message);
    signature = fromHex(signed.signature);
  } catch (exc) {
    throw fail('records', 'RecordInvalid', `${where}: not an ActivityRecord: ${exc.message}`);
  }
  return { record, signature, digest: recordDigest(domain, record) };
}

function reading(item, where, domain, entry, inside, proven) {
  const signed = item.record;
  const { record, signature, digest } = proven.parsed.get(signed) ?? parseReading(signed, where, domain);
  let status;
  try {
    if (!proven.all) checkSignature(digest, signature, record.device);
    [status] = checkAttributes(signed.attributes ?? null, record);
  } catch (exc) {
    if (!(exc instanceof VerificationFailure)) throw exc;
    throw fail('records', `Record${exc.code}`, `${where}: ${exc.reason}`);
  }
  if (status === 'skipped') throw fail('records', 'RecordAttributesMismatch', `${where}: attributes not disclosed`);
  if (record.enterprise !== entry.enterprise) throw fail('records', 'RecordOutsideEntry', `${where}: a record of ${record.enterprise}`);
  const p = entry.period;
  if (inside && !(p.startTs <= record.periodStart && record.periodStart <= record.periodEnd && record.periodEnd <= p.endTs)) {
    throw fail('records', 'RecordOutsideEntry', `${where}: measured ${record.periodStart}..${record.periodEnd}, outside the period ${p.startTs}..${p.endTs}`);
  }
  let meter;
  try {
    meter = meterReading(record, signed.attributes ?? null);
  } catch (exc) {
    if (exc instanceof RegisterError) throw fail('records', 'RegisterInvalid', `${where}: ${exc.message}`);
    throw exc;
  }
  if (meter === null && inside) throw fail('records', 'RegisterInvalid', `${where}: the reading carries no register`);
  return {
    where, record, meter, attributes: signed.attributes ?? null, digest,
    leaf: leafHash(LeafKind.ACTIVITY_RECORD, digest, keccak256(signature)), batch: item.batch,
  };
}

function inside(d) {
  return [d.first, ...d.changes.flatMap(([end, start]) => [end, start]), d.last];
}

function readings(d) {
  return [d.before, d.after].filter((r) => r !== null).concat(inside(d));
}

function device(k, item, domain, entry, proven) {
  const where = `registers.devices[${k}]`;
  const read = (x, name, isInside = true) => (x === null || x === undefined ? null : reading(x, `${where}.${name}`, domain, entry, isInside, proven));
  const address = toChecksumAddress(parseAddress(item.device));
  const before = read(item.before, 'before', false);
  const first = read(item.first, 'first');
  const changes = (item.changes ?? []).map((c, n) => [read(c.end, `changes[${n}].end`), read(c.start, `changes[${n}].start`)]);
  const last = read(item.last, 'last');
  const after = read(item.after, 'after', false);
  const found = { device: address, before, first, changes, last, after };
  for (const r of readings(found)) {
    if (r.record.device !== address) throw fail('records', 'RecordInvalid', `${r.where}: a reading of ${r.record.device}, not ${address}`);
  }
  return found;
}

/** The `records` part; null for a bundle without register devices. */
export function readRegisters(bundle, domain, entry) {
  const evidence = bundle.registers;
  if (evidence === null || evidence === undefined) return null;
  if (bundle.version < 3) throw bundleInvalid("registers need a v3 bundle's device evidence");
  let claims;
  try {
    claims = evidence.batches.map((b) => anchorClaim(b.batch, b.anchor));
  } catch (exc) {
    if (exc instanceof VerificationFailure) throw exc;
    throw bundleInvalid(`registers.batches: ${exc.message}`);
  }
  const contract = parseAddress(domain.verifyingContract);
  evidence.batches.forEach((item, b) => {
    if (BigInt(item.anchor.chainId) !== domain.chainId || !equal(claims[b].contract, contract)) {
      throw fail('records', 'RecordDomainMismatch', `registers.batches[${b}] is anchored on chain ${item.anchor.chainId} in ${item.anchor.contract}`);
    }
  });
  const proven = provenSignatures(evidence, domain);
  const devices = evidence.devices.map((item, k) => device(k, item, domain, entry, proven));
  const seen = devices.map((d) => d.device);
  const twice = seen.find((a, i) => seen.indexOf(a) !== i);
  if (twice !== undefined) throw fail('completeness', 'IncompleteRecords', `register device ${twice} appears twice`);
  return { evidence, devices, claims, addresses: new Set(seen) };
}

/** The sources the register readings inside the period measure. */
export function registerSources(m) {
  return m.devices.flatMap((d) => inside(d).map((r) => r.record.source));
}

export function describeRegisters(m) {
  return `; ${m.devices.reduce((n, d) => n + readings(d).length, 0)} register readings of ${m.devices.length} devices`;
}

// --- record-inclusion -----------------------------------------------------------------------

function checkMultiproof(m, b, named) {
  const item = m.evidence.batches[b];
  const where = `registers.batches[${b}]`;
  const leaves = decodeNodes(item.leaves, `${where}.leaves`);
  const held = new Set(leaves.map(toHex));
  if (![...named].every((leaf) => held.has(leaf))) throw fail('record-inclusion', 'RecordNotIncluded', `${where}: its multiproof leaves out a reading that names it`);
  let root;
  try {
    root = processMultiproof(leaves, decodeNodes(item.proof, `${where}.proof`), item.proofFlags);
  } catch (exc) {
    if (exc instanceof MerkleError) throw fail('record-inclusion', 'MultiproofInvalid', `${where}: ${exc.message}`);
    throw exc;
  }
  if (!equal(root, m.claims[b].root)) throw fail('record-inclusion', 'MultiproofInvalid', `${where}: the multiproof folds to ${toHex(root)}, not to ${item.batch.root}`);
}

function section(m, b) {
  try {
    return checkManifestCounts(m.evidence.batches[b].batch, m.claims[b].manifestHash);
  } catch (exc) {
    if (exc instanceof VerificationFailure) throw fail('record-inclusion', 'BatchManifestMismatch', `registers.batches[${b}]: ${exc.reason}`);
    throw exc;
  }
}

function checkHeld(r, manifest, enterprise) {
  const record = r.record;
  const mine = manifest.devices.find((d) => d.device.toLowerCase() === record.device.toLowerCase());
  if (!manifest.covers(enterprise) || (manifest.kinds['1'] ?? 0) < 1 || !mine || !(mine.firstSeq <= record.seq && record.seq <= mine.lastSeq)) {
    throw fail('record-inclusion', 'BatchManifestMismatch', `${r.where}: the batch's manifest section of ${enterprise} does not hold seq ${record.seq} of ${record.device}`);
  }
}

export function checkRegisterInclusion(m, enterprise) {
  const named = m.claims.map(() => new Set());
  const all = m.devices.flatMap(readings);
  for (const r of all) {
    if (!(r.batch < named.length)) throw fail('record-inclusion', 'RecordNotIncluded', `${r.where}: no batch`);
    named[r.batch].add(toHex(r.leaf));
  }
  named.forEach((leaves, b) => checkMultiproof(m, b, leaves));
  const sections = m.claims.map((_c, b) => section(m, b));
  for (const r of all) checkHeld(r, sections[r.batch], enterprise);
  return `${all.length} register readings in ${m.claims.length} anchored batches`;
}

// --- authorization --------------------------------------------------------------------------

/** A register device's registry events, read from the enterprise's signed chain. */
export function registerDeviceEvidence(m, registry) {
  return m.devices.map((d) => {
    const own = (registry ?? []).filter((e) => e.event?.subject === d.device);
    if (!own.length) throw fail('authorization', 'TerminalNotAuthorised', `the enterprise's registry shows no event of register device ${d.device}`);
    return { device: d.device, registry: own };
  });
}

export function* anchoredReadings(m) {
  for (const d of m.devices) for (const r of inside(d)) yield [r.where, r.record, m.claims[r.batch].blockNumber];
}

// --- completeness ---------------------------------------------------------------------------

export function checkRegisterCount(entry, records, counted) {
  let metered = 0;
  for (const d of entry.records.devices) {
    if (!counted.has(toChecksumAddress(parseAddress(d.device)))) metered += d.count;
  }
  if (records + metered !== entry.records.count) {
    throw fail('completeness', 'IncompleteRecords', `${records} records given and ${metered} counted by registers, the entry counts ${entry.records.count}`);
  }
}

const edgeMismatch = (reason) => fail('completeness', 'RegisterEdgeMismatch', reason);
const edgeOpen = (reason) => fail('completeness', 'PeriodEdgeUnproven', reason);
const epochHidden = (reason) => fail('completeness', 'RegisterEpochHidden', reason);

function checkRange(d, stated) {
  const { firstSeq: first, lastSeq: last } = stated;
  if (stated.count !== last - first + 1) throw fail('completeness', 'IncompleteRecords', `the entry counts ${stated.count} records of ${d.device} in seq ${first}..${last}: a gap`);
  if (d.first.record.seq !== first || d.last.record.seq !== last) {
    throw edgeMismatch(`device ${d.device}: the register readings are seq ${d.first.record.seq}..${d.last.record.seq}, the entry counts ${first}..${last}`);
  }
  if (d.first.record.source !== stated.source) throw fail('completeness', 'IncompleteRecords', `device ${d.device} measured ${d.first.record.source}, the entry states ${stated.source}`);
}

function checkOutside(d, stated, a, entry) {
  const p = entry.period;
  if (d.before === null) {
    if (!a.firstSeq.has(stated.firstSeq)) throw edgeOpen(`device ${d.device}: neither seq ${stated.firstSeq - 1} nor a start`);
  } else if (d.before.record.seq !== stated.firstSeq - 1 || d.before.record.periodEnd > p.startTs) {
    throw edgeOpen(`device ${d.device}: the reading before is not seq ${stated.firstSeq - 1} ending by the period's start`);
  }
  if (d.after === null) {
    if (!a.lastSeq.has(stated.lastSeq)) throw edgeOpen(`device ${d.device}: neither seq ${stated.lastSeq + 1} nor an end`);
  } else if (d.after.record.seq !== stated.lastSeq + 1 || d.after.record.periodStart < p.endTs) {
    throw edgeOpen(`device ${d.device}: the reading after is not seq ${stated.lastSeq + 1} starting at the period's end`);
  }
}

function segments(d) {
  const runs = [];
  let start = d.first;
  for (const [end, following] of d.changes) {
    if (!(start.record.seq <= end.record.seq && end.record.seq < d.last.record.seq)) throw epochHidden(`${end.where}: seq ${end.record.seq} is out of order`);
    if (following.record.seq !== end.record.seq + 1) throw epochHidden(`${following.where}: seq ${following.record.seq} does not follow ${end.record.seq}`);
    if (end.meter.epoch !== start.meter.epoch || following.meter.epoch !== end.meter.epoch + 1) {
      throw epochHidden(`${end.where}: epochs ${end.meter.epoch} → ${following.meter.epoch} are not one change from epoch ${start.meter.epoch}`);
    }
    runs.push([start, end]);
    start = following;
  }
  if (d.last.meter.epoch !== start.meter.epoch || d.last.record.seq < start.record.seq) {
    throw epochHidden(`device ${d.device}: its register is in epoch ${d.last.meter.epoch} at seq ${d.last.record.seq} but the bundle shows ${d.changes.length} epoch change(s) from epoch ${d.first.meter.epoch}: a meter change or register reset is not shown`);
  }
  runs.push([start, d.last]);
  return runs;
}

function runQuantity(start, end) {
  const a = start.meter;
  const b = end.meter;
  let total;
  if (start.record.seq === end.record.seq) {
    if (!equal(start.digest, end.digest)) throw edgeMismatch(`${end.where}: two readings of seq ${end.record.seq}`);
    total = a.quantity;
  } else {
    if (a.meter !== b.meter) throw fail('completeness', 'RegisterMeterChanged', `${end.where}: not the meter of ${start.where} within one epoch`);
    if (b.register < a.register) throw fail('completeness', 'RegisterDiscontinuity', `${end.where}: register ${b.register} is below ${start.where}'s ${a.register}`);
    total = a.quantity + b.register - a.register;
  }
  return { ...start.record, quantity: total, attributes: withoutRegisters(start.attributes) };
}

function runs(d) {
  const found = segments(d);
  for (const [start] of found.slice(1)) {
    const opening = start.meter.opening === null ? null : start.meter.register - start.meter.opening;
    if (opening !== start.meter.quantity) {
      throw fail('completeness', 'RegisterDiscontinuity', `${start.where}: the first reading of epoch ${start.meter.epoch} does not count from its registerOpening`);
    }
  }
  return found.map(([start, end]) => runQuantity(start, end));
}

/** Per device and epoch run, the quantity its registers prove, as a record for accounting. */
export function registerQuantities(m, counted, authorities, entry) {
  const quantities = [];
  for (const d of m.devices) {
    const stated = counted.get(d.device);
    if (!stated) throw fail('completeness', 'IncompleteRecords', `device ${d.device} has readings but the entry counts none`);
    checkRange(d, stated);
    checkOutside(d, stated, authorities.get(d.device), entry);
    quantities.push(...runs(d));
  }
  return quantities;
}

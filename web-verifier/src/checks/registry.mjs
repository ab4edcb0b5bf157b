// What a v3 figure proof shows about the enterprise's registry (verifier/checks/registry.py):
// 'registry-signatures', 'registry-chain' and 'boundary', between 'authorization' and
// 'completeness'.
import { equal, toHex } from '../protocol/bytes.mjs';
import { parseAddress, toChecksumAddress } from '../protocol/keccak.mjs';
import { eventDigest, InvalidRegistryOperation, CHAIN_TYPES, operationOfEvent, registryOperationDigest } from '../protocol/registry-ops.mjs';
import { recoverSigner, SignatureError } from '../protocol/typed-data.mjs';
import { anchorClaim, checkRegistryEvent, decodeNodes, VerificationFailure } from './kernel.mjs';
import { allSigned } from './signatures.mjs';

export const REGISTRY_CHECKS = ['registry-signatures', 'registry-chain', 'boundary'];
const ENDED = ['device.revoked', 'device.rotated'];
const fail = (check, code, reason) => new VerificationFailure(check, code, reason);
const repr = (v) => (v === undefined || v === null ? 'None' : typeof v === 'string' ? `'${v}'` : String(v));

// --- registry-signatures --------------------------------------------------------------------

function checkEnrolment(event, enterprise) {
  if (event.type !== 'enterprise.registered' || event.subject !== enterprise) {
    throw fail('registry-signatures', 'RegistryUnsigned', `registry[0] is not the enrolment of ${enterprise}`);
  }
  if (typeof event.signer !== 'string') {
    throw fail('registry-signatures', 'RegistryUnsigned', `${enterprise} was enrolled without a signer key: its registry changes are not signed by the enterprise, so the ledger's operator could have made them`);
  }
  return event.signer;
}

function checkSigned(k, event, domain, signer) {
  let op, signature;
  try {
    [op, signature] = operationOfEvent(event);
  } catch (exc) {
    if (!(exc instanceof InvalidRegistryOperation)) throw exc;
    throw fail('registry-signatures', 'RegistryUnsigned', `registry[${k}] (${event.type} of ${event.subject}) is not an operation the enterprise signed: ${exc.message}`);
  }
  let recovered;
  try {
    recovered = recoverSigner(registryOperationDigest(domain, op), signature);
  } catch (exc) {
    if (!(exc instanceof SignatureError)) throw exc;
    recovered = `no key (${exc.message})`;
  }
  if (recovered !== signer) {
    throw fail('registry-signatures', 'RegistrySignatureInvalid', `registry[${k}] (${op.action} of ${op.subject}) is signed by ${recovered}, not by the enterprise's key ${signer}`);
  }
}

// A counted terminal's registration, rotation or revocation outside the signed chain is the
// operator's word, not the enterprise's.
function checkDeviceEvents(bundle, digests) {
  (bundle.devices ?? []).forEach((evidence, d) => {
    evidence.registry.forEach((proof, i) => {
      if (CHAIN_TYPES.has(proof.event.type) && !digests.has(proof.leaf.digest)) {
        throw fail('registry-signatures', 'RegistryUnsigned', `devices[${d}].registry[${i}] (${proof.event.type} of ${evidence.device}) is not an operation the enterprise signed`);
      }
    });
  });
}

function checkSignatures(bundle, enterprise, domain) {
  const registry = bundle.registry ?? [];
  if (bundle.version < 3 || !registry.length) {
    throw fail('registry-signatures', 'RegistryUnsigned', `the bundle (v${bundle.version}) carries no registry history of ${enterprise}: nothing shows its sources and terminals were registered by the enterprise itself`);
  }
  const detail = checkSignedChain(registry, enterprise, domain);
  checkDeviceEvents(bundle, new Set(registry.map((p) => p.leaf.digest)));
  return detail;
}

// Whether every change is signed by its signer, checked together (signatures.mjs); false also
// where a change or a signer is malformed, which the check of that change alone then names.
function signedTogether(changes, signers, domain) {
  if (!changes.length) return true;
  try {
    return allSigned(changes.map((event, i) => {
      const [op, signature] = operationOfEvent(event);
      // The check of a change alone compares checksummed spellings: another one never matches.
      if (signers[i] !== toChecksumAddress(parseAddress(signers[i]))) throw new Error('not a checksummed address');
      return { signer: signers[i], signature, digest: registryOperationDigest(domain, op) };
    }));
  } catch {
    return false;
  }
}

/** 'registry-signatures' over a non-empty chain (figure and record bundles): the detail line. */
export function checkSignedChain(registry, enterprise, domain) {
  const events = registry.map((p) => p.event);
  const changes = events.slice(1);
  // Each change is signed by the key in force before it: the enrolment's, then each signer_set's.
  const keys = [checkEnrolment(events[0], enterprise)];
  const signers = changes.map((event) => {
    const signer = keys.at(-1);
    if (event?.type === 'enterprise.signer_set') keys.push(String(event.signer));
    return signer;
  });
  if (!signedTogether(changes, signers, domain)) {
    changes.forEach((event, i) => checkSigned(i + 1, event, domain, signers[i]));
  }
  const count = new Set(keys).size;
  return `${changes.length} registry changes signed by the enterprise's key (${count} key${count > 1 ? 's' : ''}) after the registrar's enrolment`;
}

// --- registry-chain -------------------------------------------------------------------------

const broken = (reason) => fail('registry-chain', 'RegistryChainBroken', reason);
const effective = (event) => (Number.isInteger(event.effective) ? event.effective : 0);

function eventClaim(k, proof, domain) {
  const invalid = (reason) => fail('registry-chain', 'RegistryEventInvalid', `registry[${k}]: ${reason}`);
  let nodes, claim;
  try {
    nodes = decodeNodes(proof.proof, 'proof');
    claim = anchorClaim(proof.batch, proof.anchor);
  } catch (exc) {
    throw invalid(exc instanceof VerificationFailure ? exc.reason : exc.message);
  }
  checkRegistryEvent(proof, nodes, claim, invalid);
  if (BigInt(proof.anchor.chainId) !== domain.chainId || !equal(claim.contract, parseAddress(domain.verifyingContract))) {
    throw invalid('anchored on another chain or contract');
  }
  return claim;
}

function checkLink(k, event, prev, enterprise) {
  if (event.index !== k || event.enterprise !== enterprise) {
    throw broken(`registry[${k}] is index ${repr(event.index)} of ${repr(event.enterprise)}, not index ${k} of ${enterprise}: an event of the chain is missing or out of place`);
  }
  const expected = prev ? toHex(eventDigest(prev)) : `0x${'00'.repeat(32)}`;
  if (event.prev !== expected) {
    throw broken(`registry[${k}] names ${event.prev} as the event before it, but the bundle shows ${expected}: an event of the chain is missing`);
  }
  if (prev && effective(event) < effective(prev)) throw broken(`registry[${k}] is effective before the event it follows`);
}

/** 'registry-chain' over a chain (figure and record bundles): the events' anchor claims. */
export function checkChainLinks(registry, enterprise, domain) {
  const claims = registry.map((p, k) => eventClaim(k, p, domain));
  const events = registry.map((p) => p.event);
  events.forEach((event, k) => checkLink(k, event, k ? events[k - 1] : null, enterprise));
  return claims;
}

function checkChain(bundle, entry, domain) {
  const claims = checkChainLinks(bundle.registry, entry.enterprise, domain);
  const events = bundle.registry.map((p) => p.event);
  const closing = events.findIndex((e, k) => k && effective(e) >= entry.period.endTs);
  const detail = closing > 0
    ? `${events.length} events linked; registry[${closing}] is effective at or after the period's end, so every change in force for the period is shown`
    : `${events.length} events linked up to the ledger's head; no signed event effective after the period's end is shown, so that no later change in force for the period was withheld rests on the ledger`;
  return [detail, claims];
}

// --- boundary -------------------------------------------------------------------------------

function stateAt(events, end) {
  const state = { industry: undefined, region: undefined, sources: new Set(), bindings: new Map(), ended: new Map() };
  for (const [k, event] of events.entries()) {
    if (k && effective(event) >= end) break;
    const subject = String(event.subject);
    if (event.type === 'enterprise.registered' || event.type === 'enterprise.updated') {
      [state.industry, state.region] = [event.industry, event.region];
    } else if (event.type === 'source.registered') state.sources.add(subject);
    else if (event.type === 'device.registered') state.bindings.set(subject, new Set(event.sources ?? []));
    else if (ENDED.includes(event.type) && !state.ended.has(subject)) state.ended.set(subject, effective(event));
  }
  return state;
}

function checkBoundary(entry, events) {
  const period = entry.period;
  const state = stateAt(events, period.endTs);
  for (const [name, registered, stated] of [['industry', state.industry, entry.industry], ['region', state.region, entry.region ?? null]]) {
    if ((registered ?? null) !== stated) {
      throw fail('boundary', `${name[0].toUpperCase()}${name.slice(1)}Mismatch`, `the entry states ${name} ${repr(stated)}, the enterprise's signed registry says ${repr(registered)} as of the period's end`);
    }
  }
  const stated = new Set(entry.boundary.sources);
  const missing = [...state.sources].filter((s) => !stated.has(s)).sort();
  const extra = [...stated].filter((s) => !state.sources.has(s)).sort();
  if (missing.length || extra.length) {
    const which = missing.length ? `registered source ${missing[0]} is left out` : `source ${extra[0]} is not registered to the enterprise for the period`;
    throw fail('boundary', 'BoundaryMismatch', `the entry's boundary differs: ${which}`);
  }
  const counted = new Set(entry.records.devices.map((d) => d.device));
  for (const device of [...state.bindings.keys()].sort()) {
    const bound = state.bindings.get(device);
    const ended = state.ended.get(device);
    const inForce = [...bound].some((s) => state.sources.has(s)) && (ended === undefined || ended > period.startTs);
    if (inForce && !counted.has(device)) {
      throw fail('boundary', 'TerminalNotShown', `terminal ${device}, bound to ${[...bound].sort()[0]}, was in force during the period but the entry counts none of its readings`);
    }
  }
  return `industry ${state.industry}, region ${state.region}, ${state.sources.size} sources and ${counted.size} terminals as the signed registry has them for the period`;
}

/** The three checks, in order; returns the registry events' anchors for the on-chain checks. */
export function runRegistryChecks(bundle, entry, domain, p) {
  p.add('registry-signatures', checkSignatures(bundle, entry.enterprise, domain));
  const [detail, claims] = checkChain(bundle, entry, domain);
  p.add('registry-chain', detail);
  p.add('boundary', checkBoundary(entry, bundle.registry.map((proof) => proof.event)));
  return claims;
}

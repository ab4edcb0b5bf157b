// Check 'inputs' of a v3 figure proof (verifier/checks/inputs.py): the added value the entry
// graded with is the one the enterprise declared and signed with its key in force.
import { equal, fromHex, toHex } from '../protocol/bytes.mjs';
import { parseAddress } from '../protocol/keccak.mjs';
import {
  ADDED_VALUE_COUNTERSIGNED, ADDED_VALUE_DECLARED, COUNTERSIGNER_SET, countersignatureDigest, declarationDigest, declarationFromMessage,
} from '../protocol/declarations.mjs';
import { InvalidRecord, recoverSigner, SignatureError } from '../protocol/typed-data.mjs';
import { D } from '../accounting/numbers.mjs';
import { anchorClaim, checkRegistryEvent, decodeNodes, VerificationFailure } from './kernel.mjs';

const NOT_ATTESTED = 'added value NOT attested: the enterprise signed no declaration of it, so L, K and the grade rest on a figure only the ledger states';
const fail = (code, reason) => new VerificationFailure('inputs', code, reason);

// A registry event under its anchored root, on the bundle's chain and contract.
function proven(proof, where, domain, code) {
  let nodes, claim;
  try {
    nodes = decodeNodes(proof.proof, `${where}.proof`);
    claim = anchorClaim(proof.batch, proof.anchor);
  } catch (exc) {
    throw fail(code, `${where}: ${exc instanceof VerificationFailure ? exc.reason : exc.message}`);
  }
  checkRegistryEvent(proof, nodes, claim, (reason) => fail(code, `${where}: ${reason}`));
  if (BigInt(proof.anchor.chainId) !== domain.chainId || !equal(claim.contract, parseAddress(domain.verifyingContract))) {
    throw fail(code, `${where}: anchored on another chain or contract`);
  }
  return { event: proof.event, digest: proof.leaf.digest, claim };
}

// The key that signed `digest`, by the event's `signature` (0x-hex).
const eventSigner = (body, digest) => recoverSigner(digest, fromHex(`0x${String(body.signature ?? '').replace(/^0x/, '')}`));

function declaration(entry, event, domain) {
  const body = event.event;
  if (body.type !== ADDED_VALUE_DECLARED || body.subject !== entry.enterprise) {
    throw fail('DeclarationMismatch', `not an ${ADDED_VALUE_DECLARED} event of ${entry.enterprise}`);
  }
  let d, signer;
  try {
    d = declarationFromMessage(body.declaration);
    signer = eventSigner(body, declarationDigest(domain, d));
  } catch (exc) {
    if (!(exc instanceof InvalidRecord || exc instanceof SignatureError || exc instanceof Error)) throw exc;
    throw fail('DeclarationSignatureInvalid', `the declaration: ${exc.message}`);
  }
  const p = entry.period;
  if (d.enterprise !== entry.enterprise || d.periodStart !== p.start || d.periodEnd !== p.end) {
    throw fail('DeclarationMismatch', `the declaration is of ${d.enterprise} ${d.periodStart}..${d.periodEnd}, not of this entry`);
  }
  return [d, signer];
}

// The signer named by the latest of `keys` of one of `types` about `subject` anchored at or
// before `block` (same-block events have no order: all of them, joined).
function signerNamed(keys, types, subject, block) {
  const named = keys.filter((k) => types.includes(k.event.type) && k.event.subject === subject &&
    typeof k.event.signer === 'string' && k.claim.blockNumber <= block);
  if (!named.length) return null;
  const last = Math.max(...named.map((k) => k.claim.blockNumber));
  return [...new Set(named.filter((k) => k.claim.blockNumber === last).map((k) => k.event.signer))].sort().join('|');
}

// The enterprise's key as of `block`: named by its latest anchored enrolment or signer_set
// event at or before it.
const keyInForce = (entry, keys, block) =>
  signerNamed(keys, ['enterprise.registered', 'enterprise.signer_set'], entry.enterprise, block);

function checkInputs(bundle, entry, domain) {
  if (entry.rating === null || entry.rating === undefined) return ['the entry carries no rating', 'skipped', []];
  const named = entry.inputs?.addedValue ?? null;
  if (named === null) return [NOT_ATTESTED, 'warning', []];
  if (!bundle.inputs) throw fail('DeclarationMissing', 'the entry names a declaration the bundle does not carry');
  const event = proven(bundle.inputs.declaration, 'inputs.declaration', domain, 'DeclarationInvalid');
  if (event.digest !== named.declaration) {
    throw fail('DeclarationMismatch', `the bundle's declaration is ${event.digest}, the entry names ${named.declaration}`);
  }
  const [d, signer] = declaration(entry, event, domain);
  let graded;
  try {
    graded = new D(entry.rating.added_value_wan_yuan);
  } catch {
    throw fail('AddedValueMismatch', 'the rating states no added value');
  }
  const declared = new D(d.addedValue.toString()).div(new D(10).pow(Number(d.decimals)));
  if (!graded.eq(declared)) {
    throw fail('AddedValueMismatch', `the entry grades with an added value of ${graded} 万元, the enterprise declared ${declared}`);
  }
  // The registry chain (v3), complete by its own checks, shows a rotation the ledger might
  // leave out of inputs.signers.
  const keys = [
    ...bundle.inputs.signers.map((p, i) => proven(p, `inputs.signers[${i}]`, domain, 'DeclarationSignerUnproven')),
    ...(bundle.registry ?? []).map((p, i) => ('signer' in p.event ? proven(p, `registry[${i}]`, domain, 'DeclarationSignerUnproven') : null)).filter(Boolean),
  ];
  const block = event.claim.blockNumber;
  const inForce = keyInForce(entry, keys, block);
  if (inForce !== signer) {
    throw fail('DeclarationSignerMismatch', `the declaration is signed by ${signer}; ${entry.enterprise}'s key anchored by block ${block} is ${inForce || 'not shown'}`);
  }
  const signed = declarationDigest(domain, d);
  const verified = [];
  const counterClaims = [];
  (bundle.inputs.countersignatures ?? []).forEach((evidence, i) => {
    const [name, claims] = checkCountersignature(i, evidence, event, signed, domain);
    verified.push(name);
    counterClaims.push(...claims);
  });
  let detail = `added value ${declared.toFixed()} 万元 declared by ${entry.enterprise}, signed by its key ${signer}, anchored in block ${block}`;
  if (verified.length) detail += `; verified by ${verified.join(', ')}`;
  return [detail, 'passed', [event.claim, ...keys.map((k) => k.claim), ...counterClaims]];
}

// --- optional countersignatures of the declaration --------------------------------------------

function checkCountersignature(i, evidence, declared, signed, domain) {
  const where = `inputs.countersignatures[${i}]`;
  const counter = proven(evidence.countersignature, where, domain, 'CountersignatureInvalid');
  const body = counter.event;
  const name = body.countersigner;
  if (body.type !== ADDED_VALUE_COUNTERSIGNED || body.declaration !== declared.digest || body.declarationDigest !== toHex(signed)) {
    throw fail('CountersignatureMismatch', `${where} countersigns ${body.declaration} (digest ${body.declarationDigest}), not the declaration ${declared.digest}`);
  }
  const keys = evidence.keys.map((p, j) => proven(p, `${where}.keys[${j}]`, domain, 'CountersignerUnregistered'));
  let signer;
  try {
    signer = eventSigner(body, countersignatureDigest(domain, signed, name));
  } catch (exc) {
    throw fail('CountersignatureInvalid', `${where}: ${exc.message}`);
  }
  const key = signerNamed(keys, [COUNTERSIGNER_SET], String(name), counter.claim.blockNumber);
  if (key !== signer) {
    throw fail('CountersignerUnregistered', `${where} is signed by ${signer}; the key anchored for countersigner '${name}' by block ${counter.claim.blockNumber} is ${key || 'not shown'}`);
  }
  return [`${name} (${signer})`, [counter.claim, ...keys.map((k) => k.claim)]];
}

export function runInputChecks(bundle, entry, domain, p) {
  const [detail, status, claims] = checkInputs(bundle, entry, domain);
  p.add('inputs', detail, status);
  return claims;
}

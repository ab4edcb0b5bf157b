// Check 'publication' of a figure proof (verifier/checks/publication.py): the enterprise's own
// signed statement publishing this exact entry, by its registry key in force at the
// statement's time, anchored when the bundle says so. Required on a public page.
import { equal, fromHex } from '../protocol/bytes.mjs';
import { parseAddress } from '../protocol/keccak.mjs';
import { ACTIONS, publicationDigest, publicationFromMessage } from '../protocol/publication.mjs';
import { InvalidRecord, recoverSigner } from '../protocol/typed-data.mjs';
import { anchorClaim, checkRegistryEvent, decodeNodes, VerificationFailure } from './kernel.mjs';

export const NOT_PUBLISHED = 'the bundle carries no publication statement';
const fail = (code, reason) => new VerificationFailure('publication', code, reason);

function statement(event, entry, digest) {
  let p;
  try {
    p = publicationFromMessage(event.publication);
  } catch (exc) {
    if (!(exc instanceof InvalidRecord)) throw exc;
    throw fail('PublicationInvalid', `publication.event: ${exc.message}`);
  }
  if (event.type !== ACTIONS[p.action] || event.subject !== p.evaluation || event.enterprise !== p.enterprise) {
    throw fail('PublicationInvalid', 'the event does not carry its statement as signed');
  }
  if (p.action !== 'publish') throw fail('PublicationMismatch', `the statement is a ${p.action}`);
  if (p.enterprise !== entry.enterprise || p.evaluation !== entry.identifier || p.entry !== digest) {
    throw fail('PublicationMismatch', `the statement publishes ${p.evaluation} of ${p.enterprise} (entry ${p.entry}), not this entry (${entry.identifier}, ${digest})`);
  }
  return p;
}

function signerOf(event, domain, p) {
  try {
    const hex = String(event.signature ?? '').replace(/^0x/, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error('non-hexadecimal number found in fromhex()');
    return recoverSigner(publicationDigest(domain, p), fromHex(`0x${hex}`));
  } catch (exc) {
    throw fail('PublicationUnsigned', `no valid signature: ${exc.message}`);
  }
}

/** The enterprise's registry key at `at`: the enrolment's, or the latest signer_set effective
 * at or before it. */
export function keyInForce(registry, at) {
  let key = null;
  registry.forEach((proof, k) => {
    const event = proof.event;
    if (!['enterprise.registered', 'enterprise.signer_set'].includes(event.type)) return;
    const effective = event.effective ?? 0;
    if (k && (!Number.isInteger(effective) || BigInt(effective) > at)) return;
    if (typeof event.signer === 'string') key = event.signer;
  });
  return key;
}

function anchored(evidence, domain) {
  const inclusion = evidence.inclusion ?? null;
  if (inclusion === null) return [];
  const proof = { event: evidence.event, ...inclusion };
  const invalid = (reason) => fail('PublicationUnanchored', `publication: ${reason}`);
  let nodes, claim;
  try {
    nodes = decodeNodes(proof.proof, 'publication.inclusion.proof');
    claim = anchorClaim(proof.batch, proof.anchor);
  } catch (exc) {
    throw invalid(exc instanceof VerificationFailure ? exc.reason : exc.message);
  }
  checkRegistryEvent(proof, nodes, claim, invalid);
  if (BigInt(proof.anchor.chainId) !== domain.chainId || !equal(claim.contract, parseAddress(domain.verifyingContract))) {
    throw invalid('anchored on another chain or contract');
  }
  return [claim];
}

function checkPublication(bundle, entry, domain, required) {
  const evidence = bundle.publication ?? null;
  if (evidence === null) {
    if (required) throw fail('PublicationMissing', `the page serves ${entry.identifier} as published, but no statement signed by ${entry.enterprise} says so`);
    return [NOT_PUBLISHED, 'skipped', []];
  }
  const p = statement(evidence.event, entry, bundle.entryProof.leaf.digest);
  const signer = signerOf(evidence.event, domain, p);
  const key = keyInForce(bundle.registry ?? [], p.at);
  if (key !== signer) {
    throw fail('PublicationSignerMismatch', `the statement is signed by ${signer}; ${entry.enterprise}'s registry key at its time is ${key || 'not shown'}`);
  }
  const claims = anchored(evidence, domain);
  const detail = `published by ${entry.enterprise}, signed by its registry key ${signer}`;
  if (!claims.length) return [`${detail}; not anchored yet`, 'warning', []];
  return [`${detail}, anchored`, 'passed', claims];
}

export function runPublicationCheck(bundle, entry, domain, required, p) {
  const [detail, status, claims] = checkPublication(bundle, entry, domain, required);
  p.add('publication', detail, status);
  return claims;
}

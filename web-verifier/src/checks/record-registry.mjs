// Was the signing terminal registered by the enterprise itself? (record checks
// 'registry-signatures' and 'registry-chain', verifier/checks/record_registry.py): the
// enterprise's signed chain, checked as a figure proof's, must hold every registration,
// rotation or revocation of the terminal that 'authorization' shows, and the reverse.
import { CHAIN_TYPES } from '../protocol/registry-ops.mjs';
import { VerificationFailure } from './kernel.mjs';
import { checkChainLinks, checkSignedChain } from './registry.mjs';

const LEGACY_WARNING = 'a v1 bundle carries no registry chain: that the enterprise, not the ' +
  "ledger's operator, registered this terminal is not shown";
const unsigned = (reason) => new VerificationFailure('registry-signatures', 'RegistryUnsigned', reason);

function checkSignatures(bundle, record, domain) {
  if (!bundle.registry?.length) {
    throw unsigned(`the bundle carries no registry chain of ${record.enterprise}: nothing shows that terminal ${record.device} was registered by the enterprise itself`);
  }
  const detail = checkSignedChain(bundle.registry, record.enterprise, domain);
  const chain = new Set(bundle.registry.map((p) => p.leaf.digest));
  bundle.authorization.forEach((proof, i) => {
    if (CHAIN_TYPES.has(proof.event.type) && !chain.has(proof.leaf.digest)) {
      throw unsigned(`authorization[${i}] (${proof.event.type} of ${record.device}) is not an operation the enterprise signed`);
    }
  });
  return detail;
}

function checkChain(bundle, record, domain, recordBlock) {
  const claims = checkChainLinks(bundle.registry, record.enterprise, domain);
  const shown = new Set(bundle.authorization.map((p) => p.leaf.digest));
  bundle.registry.forEach((proof, k) => {
    if (proof.event.subject === record.device && !shown.has(proof.leaf.digest)) {
      throw new VerificationFailure('registry-chain', 'DeviceEventWithheld', `registry[${k}] (${proof.event.type}) is about terminal ${record.device}, but authorization leaves it out`);
    }
  });
  const last = claims[claims.length - 1].blockNumber;
  const detail = last >= recordBlock
    ? `${claims.length} events linked, the last anchored in block ${last}, not before the record: every change anchored before it is shown`
    : `${claims.length} events linked up to the ledger's head (block ${last}); that no change anchored before the record was withheld rests on the ledger`;
  return [detail, claims];
}

/** The two checks, in order; returns the chain events' anchors for the on-chain checks. */
export function checkRecordRegistry(bundle, record, domain, recordBlock, p) {
  if (bundle.version === 1 && (bundle.registry ?? null) === null) {
    p.add('registry-signatures', LEGACY_WARNING, 'warning');
    p.add('registry-chain', 'no registry chain in a v1 bundle', 'skipped');
    return [];
  }
  p.add('registry-signatures', checkSignatures(bundle, record, domain));
  const [detail, claims] = checkChain(bundle, record, domain, recordBlock);
  p.add('registry-chain', detail);
  return claims;
}

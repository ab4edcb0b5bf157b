// Was the signing terminal authorised for this source when it signed? (check 'authorization',
// verifier/checks/authorization.py)
import { anchorClaim, checkRegistryEvent, decodeNodes, prefixed, VerificationFailure } from './kernel.mjs';

const notAuthorised = (reason) => new VerificationFailure('authorization', 'TerminalNotAuthorised', reason);
const ENDED = ['device.revoked', 'device.rotated'];

function checkEvent(proof, index) {
  const where = `authorization[${index}]: `;
  const nodes = prefixed(where, () => decodeNodes(proof.proof, 'proof'), 'authorization', 'TerminalNotAuthorised');
  const claim = anchorClaim(proof.batch, proof.anchor);
  checkRegistryEvent(proof, nodes, claim, (reason) => notAuthorised(where + reason));
  return claim;
}

/** [detail, the events' anchor claims]. */
export function checkAuthorization(proofs, record, recordBlock) {
  const claims = proofs.map(checkEvent);
  const events = proofs.map((p, i) => [p.event, claims[i]]);
  if (events.some(([e]) => e.subject !== record.device)) {
    throw notAuthorised('an event in the bundle is about another terminal');
  }
  const binding = events.find(([e]) => e.type === 'device.registered' && e.enterprise === record.enterprise &&
    Array.isArray(e.sources) && e.sources.includes(record.source));
  if (!binding) {
    throw notAuthorised(`no anchored registration binds ${record.device} to ${record.enterprise} / ${record.source}`);
  }
  for (const [event, claim] of events) {
    if (ENDED.includes(event.type) && recordBlock > claim.blockNumber) {
      throw notAuthorised(`the record was anchored in block ${recordBlock}, after the terminal's ` +
        `${event.type} event was anchored in block ${claim.blockNumber}`);
    }
  }
  const ended = events.filter(([e]) => ENDED.includes(e.type)).map(([e]) => e.type);
  const status = ended.length ? `, ${ended[0]} later` : ', never revoked';
  return [`registered for ${record.source} in block ${binding[1].blockNumber}${status}`, claims];
}

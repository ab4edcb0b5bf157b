// Check "scope2" (verifier/checks/scope2.py): an entry with green-certificate claims reports a
// market-based Scope 2 beside the location-based one. This verifier does not recompute it or
// check the claims' signatures: such a bundle is Unsupported (no verdict), and carbon-verify
// decides. Every other bundle passes the check, as carbon-verify does.
import { Unsupported } from '../accounting/engine.mjs';
import { VerificationFailure } from './kernel.mjs';

export const SCOPE2_UNSUPPORTED = 'this entry reports a market-based Scope 2 from green-certificate claims (绿证), which '
  + 'this browser verifier does not check: verify the bundle with `carbon-verify figure`';

/** Before the figures: an entry with a scope2 block gets no verdict here (its figure paths
 * include scope2.*, which only carbon-verify resolves). */
export function refuseMarketBased(entry) {
  if (entry.scope2 !== undefined && entry.scope2 !== null) throw new Unsupported(SCOPE2_UNSUPPORTED);
}

export function runScope2Check(bundle, entry, p) {
  refuseMarketBased(entry);
  if (bundle.greenCertificates !== undefined && bundle.greenCertificates !== null) {
    throw new VerificationFailure('scope2', 'CertificateClaimMismatch', 'claims in a bundle whose entry names none');
  }
  p.add('scope2', 'no green certificates claimed: Scope 2 is location-based only');
}

// The trust root and published reference data carbon-verify ships, bundled into the verifier
// so a page never fetches what it trusts.
import contracts from '../../verifier/trusted_contracts.json' with { type: 'json' };
import reference from '../../verifier/trusted_reference.json' with { type: 'json' };

export const DEFAULT_TRUST = contracts;
export const DEFAULT_REFERENCE = reference;

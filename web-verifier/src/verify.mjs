// One entry for every bundle kind: what the page and the command line call.
import { verifyAsset } from './checks/asset.mjs';
import { verifyFigure } from './checks/figure.mjs';
import { verifyRecord } from './checks/record.mjs';
import { DEFAULT_REFERENCE, DEFAULT_TRUST } from './defaults.mjs';
import { JsonRpcReader } from './rpc.mjs';

const VERIFIERS = { record: verifyRecord, figure: verifyFigure, asset: verifyAsset };

/** Verify `bundle` (decoded JSON) of `kind`; offline without `rpcUrl`. Throws RpcError when the
 * endpoint cannot answer and Unsupported when the bundle needs a method this verifier does not
 * carry: no verdict either way. */
export function verify(kind, bundle, { rpcUrl = null, onCheck, published = false } = {}) {
  const verifier = VERIFIERS[kind];
  if (!verifier) throw new Error(`this verifier reads ${Object.keys(VERIFIERS).join(', ')} bundles, not ${kind}`);
  const rpc = rpcUrl ? new JsonRpcReader(rpcUrl) : null;
  return verifier(bundle, { rpc, trust: DEFAULT_TRUST, reference: DEFAULT_REFERENCE, onCheck, published });
}

export const KINDS = Object.keys(VERIFIERS);

// The browser verifier: the same checks as carbon-verify, in the same order, with the same
// failure names, over the bundle formats of docs/. The chain is read only through the JSON-RPC
// endpoint the caller names.
export { KINDS, verify } from './verify.mjs';
export { CHECKS as RECORD_CHECKS } from './checks/record.mjs';
export { FIGURE_CHECKS } from './checks/figure.mjs';
export { ASSET_CHECKS } from './checks/asset.mjs';
export { Unsupported } from './accounting/engine.mjs';
export { RpcError } from './rpc.mjs';
export { addressOf, decryptKeystore, KeyError, parsePrivateKey, signPublication } from './signing.mjs';

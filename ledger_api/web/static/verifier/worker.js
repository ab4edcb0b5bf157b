// Runs the checks off the page's thread, and reports each one as it is decided.
import { RpcError, Unsupported, verify } from './verifier.js';

self.onmessage = async ({ data: { kind, bundle, rpcUrl, published } }) => {
  try {
    const result = await verify(kind, bundle, {
      rpcUrl: rpcUrl || null,
      published: Boolean(published),
      onCheck: (check) => self.postMessage({ type: 'check', check }),
    });
    self.postMessage({ type: 'done', result });
  } catch (exc) {
    // No verdict: the endpoint could not answer, or the bundle needs what this verifier lacks.
    const known = exc instanceof RpcError || exc instanceof Unsupported;
    self.postMessage({ type: 'undecided', reason: known ? exc.message : `${exc.name}: ${exc.message}` });
  }
};

// The four JSON-RPC calls the on-chain checks make (verifier/rpc.py), one POST each, to the
// endpoint the caller names: never through the ledger.
import { fromHex, toHex } from './protocol/bytes.mjs';

/** The endpoint could not answer: no verdict can be given. */
export class RpcError extends Error {}

const HEX = /^0x([0-9a-fA-F]{2})*$/;
const QUANTITY = /^0x[0-9a-fA-F]+$/;

function bytes(value, what) {
  if (typeof value !== 'string' || !HEX.test(value)) throw new RpcError(`${what}: expected 0x-hex bytes`);
  return fromHex(value);
}

function quantity(value, what) {
  if (typeof value !== 'string' || !QUANTITY.test(value)) throw new RpcError(`${what}: expected a 0x-hex quantity`);
  return Number(BigInt(value));
}

function receipt(raw) {
  if (!raw || typeof raw !== 'object' || !Array.isArray(raw.logs)) {
    throw new RpcError('transaction receipt is not an object with logs');
  }
  return {
    status: quantity(raw.status, 'status'),
    to: raw.to == null ? null : bytes(raw.to, 'receipt to'),
    blockNumber: quantity(raw.blockNumber, 'blockNumber'),
    blockHash: bytes(raw.blockHash, 'blockHash'),
    logs: raw.logs.map((log) => {
      if (!log || !Array.isArray(log.topics)) throw new RpcError('receipt log is not an object with topics');
      return {
        address: bytes(log.address, 'log address'),
        topics: log.topics.map((t) => bytes(t, 'log topic')),
        data: bytes(log.data, 'log data'),
        logIndex: quantity(log.logIndex, 'logIndex'),
        removed: log.removed === true,
      };
    }),
  };
}

export class JsonRpcReader {
  constructor(url) {
    if (!/^https?:\/\//.test(url)) throw new RpcError(`RPC URL must be http:// or https://, got ${url}`);
    this.url = url;
    this.nextId = 0;
  }

  async request(method, params) {
    let answer;
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: ++this.nextId, method, params }),
      });
      if (!response.ok) throw new RpcError(`${method}: HTTP ${response.status} from ${this.url}`);
      answer = await response.json();
    } catch (exc) {
      if (exc instanceof RpcError) throw exc;
      throw new RpcError(`cannot reach RPC endpoint ${this.url}: ${exc.message}`);
    }
    if (!answer || typeof answer !== 'object') throw new RpcError(`${method}: the answer is not a JSON-RPC object`);
    if ('error' in answer) throw new RpcError(`${method}: node error ${JSON.stringify(answer.error)}`);
    if (!('result' in answer)) throw new RpcError(`${method}: the answer has no result`);
    return answer.result;
  }

  async chainId() {
    return quantity(await this.request('eth_chainId', []), 'eth_chainId');
  }

  async getCode(address) {
    return bytes(await this.request('eth_getCode', [toHex(address), 'latest']), 'eth_getCode');
  }

  async call(to, data) {
    return bytes(await this.request('eth_call', [{ to: toHex(to), data: toHex(data) }, 'latest']), 'eth_call');
  }

  async getTransactionReceipt(txHash) {
    const raw = await this.request('eth_getTransactionReceipt', [toHex(txHash)]);
    return raw === null ? null : receipt(raw);
  }
}

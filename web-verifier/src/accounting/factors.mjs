// A factor set document (accounting/factors.py), read only as far as the accounting needs: the
// verifier accounts only with a published set, whose digest the factor-set check compared.
import { keccak_256 } from '@noble/hashes/sha3';
import { toHex } from '../protocol/bytes.mjs';
import { canonicalBytes } from '../protocol/canonical.mjs';
import { parseDecimal } from './numbers.mjs';

export const digestDocument = (document) => toHex(keccak_256(canonicalBytes(document)));

const REQUIRED = ['id', 'version', 'title', 'sources', 'factors', 'gwp_sets', 'defaults', 'units'];

export function parseFactorSet(document) {
  const missing = REQUIRED.find((k) => !(k in document));
  if (missing) throw new Error(`factor set is missing key '${missing}'`);
  if (!Array.isArray(document.factors)) throw new Error('factors must be a list');
  const factors = new Map();
  for (const raw of document.factors) {
    if (factors.has(raw.id)) throw new Error(`duplicate factor id '${raw.id}'`);
    factors.set(raw.id, { id: raw.id, kind: raw.kind, value: parseDecimal(raw.value, raw.id) });
  }
  for (const [kind, id] of Object.entries(document.defaults)) {
    if (factors.get(id)?.kind !== kind) throw new Error(`default ${kind} → '${id}' is not a ${kind}`);
  }
  const gwpSets = new Map(Object.entries(document.gwp_sets).map(([key, raw]) => [key,
    new Map(Object.entries(raw.values).map(([gas, v]) => [gas, parseDecimal(v, `${key}.${gas}`)]))]));
  return { id: document.id, version: document.version, digest: digestDocument(document), factors,
    gwpSets, defaults: document.defaults, aliases: document.units.aliases ?? {}, document };
}

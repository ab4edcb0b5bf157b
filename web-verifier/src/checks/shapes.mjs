// The bundle formats' shapes (verifier/formats/): what check 1 refuses before any hashing.
// A shape is a function that throws ShapeError naming the path of the first problem.

export class ShapeError extends Error {}

const fail = (path, msg) => {
  throw new ShapeError(`${path || 'bundle'}: ${msg}`);
};
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

export const str = (pattern, min = 0) => (v, path) => {
  if (typeof v !== 'string') fail(path, 'Input should be a valid string');
  if (v.length < min) fail(path, `String should have at least ${min} character`);
  if (pattern && !pattern.test(v)) fail(path, `String should match pattern '${pattern.source}'`);
  return v;
};
export const int = (min = -Infinity, max = Infinity) => (v, path) => {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, 'Input should be a valid integer');
  if (v < min || v > max) fail(path, `Input should be between ${min} and ${max}`);
  return v;
};
export const bool = (v, path) => (typeof v === 'boolean' ? v : fail(path, 'Input should be a valid boolean'));
export const literal = (value) => (v, path) =>
  v === value ? v : fail(path, `Input should be ${JSON.stringify(value)}`);
export const oneOf = (...values) => (v, path) =>
  values.includes(v) ? v : fail(path, `Input should be one of ${values}`);
export const anyObject = (v, path) => (isObject(v) ? v : fail(path, 'Input should be a valid dictionary'));
export const nullable = (shape) => (v, path) => (v === null || v === undefined ? null : shape(v, path));
export const mapOf = (shape) => (v, path) => {
  anyObject(v, path);
  for (const [k, x] of Object.entries(v)) shape(x, `${path}.${k}`);
  return v;
};
export const list = (shape, min = 0) => (v, path) => {
  if (!Array.isArray(v)) fail(path, 'Input should be a valid tuple');
  if (v.length < min) fail(path, `Tuple should have at least ${min} item`);
  v.forEach((x, i) => shape(x, `${path}.${i}`));
  return v;
};

/** An object with exactly these fields (extra forbidden); `optional` names those with defaults. */
export const object = (fields, optional = []) => (v, path) => {
  anyObject(v, path);
  const at = (k) => (path ? `${path}.${k}` : k);
  for (const [k, shape] of Object.entries(fields)) {
    if (!(k in v)) {
      if (!optional.includes(k)) fail(at(k), 'Field required');
      continue;
    }
    shape(v[k], at(k));
  }
  for (const k of Object.keys(v)) if (!(k in fields)) fail(at(k), 'Extra inputs are not permitted');
  return v;
};

export const HEX32 = /^0x[0-9a-f]{64}$/;
export const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
export const SIGNATURE = /^0x[0-9a-f]{130}$/;

const DeviceRange = object({ device: str(ADDRESS), firstSeq: int(0), lastSeq: int(0), count: int(1) });
export const Leaf = object({ kind: int(0, 255), digest: str(HEX32), aux: str(HEX32), hash: str(HEX32) });
export const Manifest = object(
  {
    format: literal('carbon-ledger/batch-manifest'),
    version: literal(1),
    leafCount: int(1),
    kinds: mapOf(int()),
    devices: list(DeviceRange),
    enterprises: list(object({ enterprise: str(), count: int(1) })),
  },
  ['format', 'version'],
);
export const Section = object(
  {
    format: literal('carbon-ledger/manifest-section'),
    version: literal(1),
    enterprise: nullable(str()),
    leafCount: int(1),
    kinds: mapOf(int()),
    devices: list(DeviceRange),
  },
  ['format', 'version'],
);
const batchFields = object(
  {
    root: str(HEX32),
    leafCount: int(1),
    manifestHash: str(HEX32),
    manifest: nullable(Manifest),
    section: nullable(Section),
    sectionProof: nullable(list(str())),
  },
  ['manifest', 'section', 'sectionProof'],
);

/** A batch states either the v1 manifest, or one v2 section with its path. */
export const Batch = (v, path) => {
  batchFields(v, path);
  const none = (k) => v[k] === null || v[k] === undefined;
  if (none('manifest') === (none('section') && none('sectionProof'))) {
    fail(path, 'Value error, a batch states either manifest, or section with sectionProof');
  }
  if (none('manifest') && (none('section') || none('sectionProof'))) {
    fail(path, 'Value error, a manifest section needs its sectionProof, and the reverse');
  }
  if (!none('sectionProof') && v.sectionProof.length > 32) fail(`${path}.sectionProof`, 'Tuple should have at most 32 items');
  return v;
};
export const Anchor = object({
  chainId: int(1),
  contract: str(ADDRESS),
  batchId: int(0),
  txHash: str(HEX32),
  blockNumber: int(0),
  blockHash: str(HEX32),
  logIndex: int(0),
});
export const RegistryProof = object({ event: anyObject, leaf: Leaf, proof: list(str()), batch: Batch, anchor: Anchor });

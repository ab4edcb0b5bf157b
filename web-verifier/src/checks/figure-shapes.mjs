// The figure proof bundle and the evaluation entry it proves (verifier/formats/figure.py,
// verifier/formats/entry.py), as shapes: check 1 refuses anything else.
import {
  ADDRESS, Anchor, Batch, bool, HEX32, int, Leaf, RegistryProof, SIGNATURE, anyObject, list, literal,
  nullable, object, oneOf, str, mapOf, ShapeError,
} from './shapes.mjs';

const SignedRecord = object({ message: anyObject, signature: str(SIGNATURE), attributes: nullable(anyObject) }, ['attributes']);
const Edge = object({ record: SignedRecord, proof: list(str()), batch: Batch, anchor: Anchor });
// The register form (verifier/formats/registers.py): a device's bounding readings only
const Reading = object({ record: SignedRecord, batch: int(0) });
const Registers = object({
  batches: list(object({ batch: Batch, anchor: Anchor, leaves: list(str(), 1), proof: list(str()), proofFlags: list(bool) }), 1),
  devices: list(object({
    device: str(ADDRESS), before: nullable(Reading), first: Reading,
    changes: list(object({ end: Reading, start: Reading })), last: Reading, after: nullable(Reading),
  }, ['before', 'changes', 'after']), 1),
});

export const FigureProof = object({
  format: literal('carbon-ledger/figure-proof'),
  version: oneOf(1, 2, 3),
  figure: object({ path: str(null, 1), value: str() }),
  domain: object({ chainId: int(1), verifyingContract: str(ADDRESS) }),
  entry: anyObject,
  entryProof: object({ leaf: Leaf, proof: list(str()), batch: Batch, anchor: Anchor }),
  records: list(SignedRecord),
  batches: list(object({
    batch: Batch,
    anchor: Anchor,
    records: list(int(), 1),
    leaves: list(str(), 1),
    proof: list(str()),
    proofFlags: list(bool),
  })),
  factorSet: anyObject,
  ruleset: nullable(anyObject),
  devices: list(object({ device: str(ADDRESS), registry: list(RegistryProof, 1), before: nullable(Edge), after: nullable(Edge) },
    ['before', 'after'])),
  registry: list(RegistryProof),
  inputs: nullable(object({
    declaration: RegistryProof,
    signers: list(RegistryProof, 1),
    countersignatures: list(object({ countersignature: RegistryProof, keys: list(RegistryProof) })),
  }, ['countersignatures'])),
  supersededBy: nullable(object({ entry: anyObject, leaf: Leaf, proof: list(str()), batch: Batch, anchor: Anchor })),
  // An energy figure's coefficient and level sets (verifier/formats/energy.py; checks/energy.mjs)
  energy: nullable(object({ coefficientSet: anyObject, benchmarkLevels: anyObject })),
  // The green-certificate claims behind entry.scope2 (verifier/formats/figure.py): such an
  // entry is refused as Unsupported at check scope2 (checks/scope2.mjs)
  greenCertificates: nullable(object({ claims: list(RegistryProof, 1), signers: list(RegistryProof, 1) })),
  // The enterprise's signed publication statement (checks/publication.mjs), on a public page
  publication: nullable(object({
    event: anyObject,
    inclusion: nullable(object({ leaf: Leaf, proof: list(str()), batch: Batch, anchor: Anchor })),
  }, ['inclusion'])),
  registers: nullable(Registers),
}, ['format', 'version', 'ruleset', 'devices', 'registry', 'inputs', 'supersededBy', 'energy', 'greenCertificates', 'publication', 'registers']);

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const date = (v, path) => {
  str()(v, path);
  const ok = ISO_DATE.test(v) && new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) === v;
  if (!ok) throw new ShapeError(`${path}: Input should be a valid date`);
  return v;
};

export const Entry = object({
  format: literal('carbon-ledger/evaluation'),
  version: literal(1),
  identifier: str(),
  enterprise: str(),
  industry: str(),
  region: nullable(str()),
  period: object({ start: date, end: date, startTs: int(), endTs: int(), utcOffsetHours: int() }),
  boundary: object({ sources: list(str()) }),
  records: object({
    count: int(1),
    digestsHash: str(HEX32),
    devices: list(object({ device: str(ADDRESS), source: str(), firstSeq: int(0), lastSeq: int(0), count: int(1) }), 1),
  }),
  accounting: object({
    engineVersion: str(),
    factorSet: object({ id: str(), version: str(), digest: str(HEX32) }),
    gwp: str(),
    factorChoices: mapOf(str()),
    gridFactor: nullable(anyObject),
    factorsUsed: nullable(list(str())),
    figures: anyObject,
  }, ['gridFactor', 'factorsUsed']),
  rating: nullable(anyObject),
  grading: nullable(anyObject),
  inputs: nullable(object({ addedValue: nullable(object({ declaration: str(HEX32) })) })),
  createdAt: str(),
  supersedes: nullable(object({
    evaluation: str(),
    digest: str(HEX32),
    reason: oneOf('corrected_data', 'new_factor_set', 'ruleset_change'),
    note: str(),
  })),
  energy: nullable(anyObject),
  benchmark: nullable(anyObject),
  scope2: nullable(anyObject),
}, ['region', 'grading', 'inputs', 'supersedes', 'energy', 'benchmark', 'scope2']);

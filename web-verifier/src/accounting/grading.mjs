// Carbon-efficiency grading (accounting/grading/): L, its level, K and the grade, decided by
// exact comparison of fractions, never on a rounded value; the rating's JSON rebuilt to be
// compared whole with the entry's.
import { digestDocument } from './factors.mjs';
import { D, decimalStr, parseDecimal, reportedStr } from './numbers.mjs';

export class GradingError extends Error {}

export const POPULATION_DEFINITION = 'weighted/v1: sum(emissions_t) / sum(added_value_wan_yuan)';
export const PEERS_DEFINITION = 'peers-weighted/v2: round(sum(emissions_t) / sum(added_value_wan_yuan))';
const INTENSITY_UNIT = 'tCO2/万元';
const PRODUCT_UNIT = 'tCO2e/t';
const MIN_PEERS_FLOOR = 3;

function provenance(raw, sources) {
  const source = sources[raw.source];
  const out = { document: source.document, clause: raw.clause, year: Number.parseInt(source.year, 10),
    notice: source.notice, status: raw.status };
  if (raw.note) out.note = raw.note;
  if (source.url) out.url = source.url;
  return out;
}

function edges(bands, where) {
  if (bands.length < 2 || bands.at(-1).max !== null) throw new GradingError(`${where}: need two or more bands, the last with max null`);
  const out = bands.slice(0, -1).map((b) => parseDecimal(b.max, where));
  if (out[0].lte(0) || out.some((e, i) => i > 0 && out[i - 1].gte(e))) throw new GradingError(`${where}: edges must be positive and strictly increasing`);
  return out;
}

/** A ruleset document, read as far as grading needs (a published one: the rating check
 * compared its digest first). */
export function parseRuleset(doc) {
  if (doc.format !== 'carbon-ledger/ruleset/v1') throw new GradingError(`format ${doc.format} is not carbon-ledger/ruleset/v1`);
  const sources = doc.sources;
  const averages = new Map(doc.industry_averages.map((row) => [`${row.industry}|${row.year}`,
    { industry: row.industry, year: Number(row.year), origin: 'ruleset', numerator: parseDecimal(row.value, 'average'),
      denominator: new D(1), provenance: provenance(row, sources) }]));
  const benchmarks = new Map((doc.product_benchmarks ?? []).map((row) => [`${row.industry}|${row.year}`, {
    value: parseDecimal(row.value, 'benchmark'),
    dict: { industry: row.industry, product: row.product, year: Number(row.year), value: decimalStr(parseDecimal(row.value, 'benchmark')),
      unit: row.unit, provenance: provenance(row, sources) },
  }]));
  return {
    id: doc.id, version: doc.version, digest: digestDocument(doc),
    first: Number(doc.valid_years.from), last: Number(doc.valid_years.to),
    industries: new Set(doc.industries),
    levels: doc.levels.bands.map((b) => String(b.level)),
    levelEdges: edges(doc.levels.bands, 'levels'),
    gradeEdges: edges(doc.grades.bands, 'grades'),
    averages, benchmarks,
  };
}

export const summary = (r) => ({ id: r.id, version: r.version, digest: r.digest });

const averageDict = (a) => {
  const out = { industry: a.industry, year: a.year, value: decimalStr(a.numerator.div(a.denominator)), unit: INTENSITY_UNIT, origin: a.origin };
  if (a.provenance) out.provenance = a.provenance;
  if (a.population) out.population = a.population;
  return out;
};

/** A population of one (this firm): the average and basis rebuilt, digest and all. */
function ownPopulation(industry, year, e, v) {
  const members = [[decimalStr(e), decimalStr(v)]];
  const digest = digestDocument({ definition: POPULATION_DEFINITION, industry, year, members });
  return { industry, year, origin: 'population', numerator: e, denominator: v,
    population: { count: 1, total_emissions_t: decimalStr(e), total_added_value_wan_yuan: decimalStr(v), definition: POPULATION_DEFINITION, digest } };
}

// A peers-weighted/v2 average is published rounded, without its members: checked as far as
// the entry shows it, then taken as stated (verifier/checks/inputs.py).
function peerAverage(industry, year, stated) {
  const basis = stated.population;
  const keys = ['definition', 'places', 'min_members', 'members_digest'];
  if (!basis || typeof basis !== 'object' || JSON.stringify(Object.keys(basis).sort()) !== JSON.stringify([...keys].sort())) {
    throw new GradingError(`a peer average's basis has exactly the keys ${JSON.stringify([...keys].sort())}`);
  }
  const { places, min_members: floor, members_digest: digest } = basis;
  if (!Number.isInteger(places) || places < 0 || places > 12) throw new GradingError(`peer average places ${places} is not an integer 0..12`);
  if (!Number.isInteger(floor) || floor < MIN_PEERS_FLOOR) throw new GradingError(`the peer average was formed from at least ${floor} peers; fewer than ${MIN_PEERS_FLOOR} would disclose their figures`);
  if (typeof digest !== 'string' || !/^0x[0-9a-f]{64}$/.test(digest)) throw new GradingError('members_digest is not 0x + 64 lowercase hex digits');
  const value = new D(stated.value);
  if (!value.isFinite() || value.lte(0)) throw new GradingError(`peer average ${stated.value} is not positive`);
  if (!value.eq(value.toDecimalPlaces(places, D.ROUND_HALF_EVEN))) throw new GradingError(`peer average ${stated.value} is not rounded to ${places} places`);
  return { industry, year, origin: 'population', numerator: value, denominator: new D(1),
    population: { definition: PEERS_DEFINITION, places, min_members: floor, members_digest: digest } };
}

/** The recorded population average rebuilt from its basis (verifier/checks/figure.py). */
export function populationAverage(industry, year, stated, e, v) {
  const basis = stated.population;
  if (basis?.definition === PEERS_DEFINITION) return peerAverage(industry, year, stated);
  if (basis.definition !== POPULATION_DEFINITION) throw new GradingError(`unknown population definition ${basis.definition}`);
  const count = basis.count;
  const totals = [new D(basis.total_emissions_t), new D(basis.total_added_value_wan_yuan)];
  if (!Number.isInteger(count) || count < 1 || totals[0].lt(e) || totals[1].lt(v)) {
    throw new GradingError('the population basis does not include this enterprise');
  }
  if (count === 1) return ownPopulation(industry, year, e, v);
  return { industry, year, origin: 'population', numerator: totals[0], denominator: totals[1],
    population: { count, total_emissions_t: decimalStr(totals[0]), total_added_value_wan_yuan: decimalStr(totals[1]),
      definition: POPULATION_DEFINITION, digest: basis.digest } };
}

const band = (n, d, edgeList) => {
  const i = edgeList.findIndex((edge) => n.lte(edge.mul(d)));
  return i < 0 ? edgeList.length : i;
};
const figure = (v) => ({ exact: decimalStr(v), reported: reportedStr(v, 4) });

/** The rating's JSON, as accounting.grading.grade(...).to_dict() gives it. */
export function grade(e, v, industry, year, ruleset, average, output) {
  if (!ruleset.industries.has(industry)) throw new GradingError(`ruleset ${ruleset.id} does not cover industry ${industry}`);
  if (!(ruleset.first <= year && year <= ruleset.last)) throw new GradingError(`ruleset ${ruleset.id} is valid ${ruleset.first}–${ruleset.last}, not ${year}`);
  const avg = average ?? ruleset.averages.get(`${industry}|${year}`);
  if (!avg) throw new GradingError(`ruleset ${ruleset.id} has no average L for ${industry} in ${year}`);
  if (!e.isFinite() || e.isNeg()) throw new GradingError('emissions must be finite and not negative');
  if (!v.isFinite() || v.lte(0)) throw new GradingError('added value must be finite and positive');
  const level = ruleset.levels[band(e, v, ruleset.levelEdges)];
  const [kNum, kDen] = [e.mul(avg.denominator), v.mul(avg.numerator)];
  const grade = band(kNum, v, ruleset.gradeEdges.map((edge) => edge.mul(avg.numerator))) + 1;
  let product = null;
  if (output !== null) {
    if (!output.isFinite() || output.lte(0)) throw new GradingError('product output must be finite and positive');
    const bench = ruleset.benchmarks.get(`${industry}|${year}`);
    product = { output_t: decimalStr(output), intensity: { ...figure(e.div(output)), unit: PRODUCT_UNIT },
      benchmark: bench ? bench.dict : null, ratio: bench ? figure(e.div(output.mul(bench.value))) : null };
  }
  return {
    ruleset: summary(ruleset), industry, year, emissions_t: decimalStr(e), added_value_wan_yuan: decimalStr(v),
    L: { ...figure(e.div(v)), unit: INTENSITY_UNIT }, level, K: figure(kNum.div(kDen)), grade,
    industry_average: averageDict(avg), product,
  };
}

// Comprehensive energy consumption (综合能耗, GB/T 2589-2020, accounting/energy.py) and the
// benchmark standing (对标, accounting/benchmarks.py) from the accounted lines, with the same
// rule per line, the same rounding and the same documents' validation.
import { AccountingError } from './engine.mjs';
import { digestDocument } from './factors.mjs';
import { D, decimalStr, LINE_PLACES, reportedStr, ZERO } from './numbers.mjs';
import { checkInt, get, isDict, item, iterate, parseDecimal, PythonInputError, str } from './python.mjs';

export const ENERGY_SET_FORMAT = 'carbon-ledger/energy-coefficients';
export const LEVEL_SET_FORMAT = 'carbon-ledger/benchmark-levels';
const KINDS = ['fuel', 'energy_content', 'electricity_equal', 'electricity_equivalent'];
const PER_UNIT = { 'tce/t': 't', 'tce/10^4 Nm3': 'wan_Nm3', 'tce/GJ': 'GJ', 'tce/MWh': 'MWh' };
const METRICS = ['energy', 'electricity'];
const STATUSES = ['verified', 'secondary', 'recalled', 'derived'];
const ELECTRICITY = ['electricity.purchased', 'electricity.exported'];
const HEAT = ['heat.purchased', 'heat.exported'];

/** A published set's document that does not parse (EnergySetMismatch). */
export class SetFormatError extends Error {}

// --- the documents ----------------------------------------------------------------------------

function provenance(raw, sources) {
  const source = item(sources, item(raw, 'source'));
  if (!STATUSES.includes(item(raw, 'status'))) throw new SetFormatError(`status ${str(raw.status)} is not one of ${STATUSES}`);
  item(source, 'document');
  item(raw, 'clause');
  checkInt(item(source, 'year'));
  item(source, 'notice');
}

function byId(items, noun) {
  const found = new Map();
  for (const one of items) {
    if (found.has(one.id)) throw new SetFormatError(`duplicate ${noun} id ${one.id}`);
    found.set(one.id, one);
  }
  return found;
}

function heading(document) {
  const [id, version] = ['id', 'version'].map((k) => str(item(document, k)));
  item(document, 'title');
  return { id, version, digest: digestDocument(document) };
}

function parsed(document, format, parse) {
  if (!isDict(document) || document.format !== format) throw new SetFormatError(`not a ${format} document`);
  try {
    return parse();
  } catch (exc) {
    if (exc instanceof PythonInputError) throw new SetFormatError(`${format} is missing or misshapes ${exc.message}`);
    throw exc;
  }
}

function coefficient(raw, sources) {
  const id = str(item(raw, 'id'));
  const [kind, unit] = [item(raw, 'kind'), item(raw, 'unit')];
  if (!KINDS.includes(kind) || typeof unit !== 'string' || !Object.hasOwn(PER_UNIT, unit)) {
    throw new SetFormatError(`${id}: kind ${str(kind)} / unit ${str(unit)}`);
  }
  const year = get(raw, 'year');
  const integral = typeof year === 'boolean' || Number.isInteger(year);
  if (kind === 'electricity_equivalent' && !integral) throw new SetFormatError(`${id}: an equivalent value needs its year`);
  const value = parseDecimal(item(raw, 'value'), id);
  provenance(raw, sources);
  return { id, kind, value, unit, activity: get(raw, 'activity'), year: integral ? Number(year) : null };
}

/** A GB/T 2589 coefficient set document (accounting/energy.py parse_energy_set). */
export function parseEnergySet(document) {
  return parsed(document, ENERGY_SET_FORMAT, () => {
    const coefficients = byId(iterate(item(document, 'coefficients'))
      .map((raw) => coefficient(raw, item(document, 'sources'))), 'coefficient');
    return { ...heading(document), coefficients: [...coefficients.values()] };
  });
}

function product(raw, sources) {
  const id = str(item(raw, 'id'));
  if (!METRICS.includes(item(raw, 'metric'))) throw new SetFormatError(`${id}: metric ${str(raw.metric)}`);
  const [benchmark, baseline] = ['benchmark', 'baseline'].map((k) => parseDecimal(item(raw, k), `${id}.${k}`, false));
  if (benchmark.gt(baseline)) throw new SetFormatError(`${id}: benchmark ${benchmark} above baseline ${baseline}`);
  const industry = str(item(raw, 'industry'));
  for (const name of ['name_zh', 'name_en']) item(raw, name);
  const unit = str(item(raw, 'unit'));
  const unitsPerT = parseDecimal(item(raw, 'units_per_t'), `${id}.units_per_t`);
  const isDefault = item(raw, 'default') === true;
  provenance(raw, sources);
  return { id, industry, metric: raw.metric, unit, unitsPerT, benchmark, baseline, default: isDefault };
}

/** A benchmark level set document (accounting/benchmarks.py parse_level_set). */
export function parseLevelSet(document) {
  return parsed(document, LEVEL_SET_FORMAT, () => {
    const products = byId(iterate(item(document, 'products'))
      .map((raw) => product(raw, item(document, 'sources'))), 'product');
    return { ...heading(document), products: [...products.values()] };
  });
}

export const summary = ({ id, version, digest }) => ({ id, version, digest });

// --- lines to tce -----------------------------------------------------------------------------

function only(set, kind) {
  const found = set.coefficients.filter((c) => c.kind === kind);
  if (found.length !== 1) throw new AccountingError(`energy set ${set.id} needs exactly one ${kind}`);
  return found[0];
}

/** Equal value, or the equivalent value of the latest year not after `year` (else the earliest). */
function electricityCoefficient(set, basis, year) {
  if (basis === 'equal') return only(set, 'electricity_equal');
  const years = set.coefficients.filter((c) => c.kind === 'electricity_equivalent')
    .sort((a, b) => (a.year || 0) - (b.year || 0));
  if (!years.length) throw new AccountingError(`energy set ${set.id} has no equivalent value`);
  const before = years.filter((c) => (c.year || 0) <= year);
  return before.length ? before.at(-1) : years[0];
}

function carrierOf(code) {
  if (ELECTRICITY.includes(code)) return 'electricity';
  if (HEAT.includes(code)) return 'heat';
  return code.startsWith('fuel.') ? code.slice(5) : null;
}

// Python's quantize in the 50-digit context refuses a result of more than 50 digits.
function quantize(value, places) {
  const rounded = value.toDecimalPlaces(places, D.ROUND_HALF_EVEN);
  if (rounded.abs().gte(new D(10).pow(50 - places))) throw new AccountingError(`${value} has more than 50 digits at 1e-${places}`);
  return rounded;
}

/** tce per canonical unit of the line, and what it came from (accounting/energy.py _per_unit). */
function perUnit(basis, set, electricity) {
  const content = only(set, 'energy_content');
  if (ELECTRICITY.includes(basis.code)) return [electricity.value, electricity.id];
  if (basis.unit === 'GJ') return [content.value, content.id];
  if (basis.params.ncv) return [basis.params.ncv.mul(content.value), 'ncv:measured'];
  const listed = set.coefficients.find((c) => c.activity === basis.code);
  if (listed && PER_UNIT[listed.unit] === basis.unit) return [listed.value, listed.id];
  const ncv = basis.factors.find((f) => f.kind === 'fuel_ncv');
  if (!ncv) throw new AccountingError(`${basis.code} in ${basis.unit}: energy set ${set.id} has no coefficient and no NCV applies`);
  return [ncv.value.mul(content.value), `ncv:${ncv.id}`];
}

/** Every energy line of the accounted lines (checks/figures.mjs collects them), signed tce. */
function energyLines(lines, set, basis, year) {
  if (basis !== 'equivalent' && basis !== 'equal') throw new AccountingError('energy basis must be one of equivalent, equal');
  const electricity = electricityCoefficient(set, basis, year);
  const out = [];
  for (const line of lines) {
    const carrier = carrierOf(line.basis.code);
    if (carrier === null) continue;
    const [num, den] = line.basis.conversion;
    const quantity = line.quantity.mul(num).div(den);
    const [value, used] = perUnit(line.basis, set, electricity);
    const sign = line.basis.category === 'exported' ? -1 : 1;
    out.push({
      source: line.source || '(unassigned)', category: line.basis.category, carrier, coefficient: used,
      tce: quantize(quantity.mul(value).mul(sign), LINE_PLACES),
      mwh: carrier === 'electricity' ? quantity.mul(sign) : ZERO,
    });
  }
  return [out, electricity];
}

// --- figures ----------------------------------------------------------------------------------

const byCodePoint = (a, b) => {
  const [x, y] = [[...a], [...b]];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i].codePointAt(0) - y[i].codePointAt(0);
  }
  return x.length - y.length;
};
/** Python's decimal_str: rounded to the 50-digit context, fixed point, no trailing zeros. */
const exact = (value) => decimalStr(value.toSignificantDigits(50, D.ROUND_HALF_EVEN));
const reported = (value) => reportedStr(quantize(value, 3), 3);
const divide = (numerator, denominator) => (denominator === null || denominator.lte(0) ? null : numerator.div(denominator));

function sumBy(lines, key) {
  const sums = new Map();
  for (const line of lines) sums.set(line[key], (sums.get(line[key]) ?? ZERO).plus(line.tce));
  return [...sums].sort(([a], [b]) => byCodePoint(a, b));
}

function energyFigures(lines, denominators) {
  const total = lines.reduce((sum, line) => sum.plus(line.tce), ZERO);
  const intensity = [['product', divide(total, denominators.productOutputT)], ['addedValue', divide(total, denominators.addedValueWanYuan)]];
  const groups = [['bySource', sumBy(lines, 'source')], ['byCategory', sumBy(lines, 'category')], ['byCarrier', sumBy(lines, 'carrier')]];
  const block = (render) => ({
    total: render(total),
    ...Object.fromEntries(groups.map(([name, sums]) => [name, Object.fromEntries(sums.map(([k, v]) => [k, render(v)]))])),
    intensity: Object.fromEntries(intensity.filter(([, v]) => v !== null).map(([k, v]) => [k, render(v)])),
  });
  return { exact: block(exact), reported: block(reported) };
}

function energyBlock(lines, set, basis, year, denominators) {
  const [energy, electricity] = energyLines(lines, set, basis, year);
  const mwh = energy.reduce((sum, line) => sum.plus(line.mwh), ZERO);
  const text = (v) => (v === null ? null : exact(v));
  return {
    coefficientSet: summary(set),
    basis,
    electricity: { coefficient: electricity.id, value: exact(electricity.value), unit: electricity.unit, netMWh: exact(mwh) },
    coefficientsUsed: [...new Set(energy.map((line) => line.coefficient))].sort(byCodePoint),
    denominators: { productOutputT: text(denominators.productOutputT), addedValueWanYuan: text(denominators.addedValueWanYuan) },
    figures: energyFigures(energy, denominators),
  };
}

function standingOf(intensity, level) {
  if (intensity.lte(level.benchmark)) return 'benchmark';
  return intensity.lte(level.baseline) ? 'between' : 'below_baseline';
}

function benchmarkBlock(levels, industry, total, netMwh, output) {
  const block = { levelSet: summary(levels) };
  const level = levels.products.find((p) => p.industry === industry && p.default);
  if (!level) {
    const listed = levels.products.some((p) => p.industry === industry);
    return { ...block, product: null, standing: 'not_assessed', reason: listed ? 'no_default_product' : 'industry_not_listed' };
  }
  Object.assign(block, { product: level.id, metric: level.metric, unit: level.unit, benchmark: exact(level.benchmark), baseline: exact(level.baseline) });
  const amount = (level.metric === 'energy' ? total : netMwh).mul(1000);
  const intensity = output === null ? null : divide(amount, output.mul(level.unitsPerT));
  if (intensity === null) return { ...block, standing: 'not_assessed', reason: 'no_product_output' };
  return { ...block, intensity: { exact: exact(intensity), reported: reported(intensity) }, standing: standingOf(intensity, level) };
}

/** `{energy, benchmark}`: the two blocks an entry carries, as accounting/benchmarks.py
 * energy_and_standing computes them from the same lines. */
export function energyAndStanding(lines, sets, basis, year, industry, denominators) {
  const energy = energyBlock(lines, sets.coefficients, basis, year, denominators);
  const total = new D(energy.figures.exact.total);
  const netMwh = new D(energy.electricity.netMWh);
  const benchmark = benchmarkBlock(sets.levels, industry, total, netMwh, denominators.productOutputT);
  return { energy, benchmark };
}

// Energy and benchmark figures of a figure proof (verifier/checks/energy.py): two hooks into the
// figure checks, no check of their own. Under `factor-set`, the bundle's GB/T 2589 coefficient
// set and benchmark level set are the ones the entry names and the published ones; under
// `figures`, the entry's `energy` and `benchmark` blocks are recomputed from the same accounted
// lines, digit for digit. A bundle without the sets proves no energy figure.
import { AccountingError } from '../accounting/engine.mjs';
import { energyAndStanding, parseEnergySet, parseLevelSet, SetFormatError, summary } from '../accounting/energy.mjs';
import { decimal, get, isDict, item, PythonInputError, truthy } from '../accounting/python.mjs';
import { VerificationFailure } from './kernel.mjs';

export const ENERGY_PREFIXES = ['energy.', 'benchmark.'];

const equal = (a, b) => {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]));
  }
  if (isDict(a) && isDict(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]));
  }
  return a === b;
};

const show = (v) => (v === undefined ? 'None' : JSON.stringify(v));

function difference(computed, stated, path) {
  if (isDict(computed) && isDict(stated)) {
    const keys = [...new Set([...Object.keys(computed), ...Object.keys(stated)])].sort();
    const key = keys.find((k) => !equal(computed[k] ?? null, stated[k] ?? null) || Object.hasOwn(computed, k) !== Object.hasOwn(stated, k));
    if (key !== undefined) return difference(computed[key], stated[key], `${path}.${key}`);
  }
  return `${path}: recomputed ${show(computed)}, stated ${show(stated)}`;
}

const lastDigest = (rows, s) => (rows ?? []).findLast((r) => String(r.id) === s.id && String(r.version) === s.version)?.digest ?? null;

function published(code, kind, s, rows) {
  const known = lastDigest(rows, s);
  if (known === s.digest) return;
  const said = known ? `the published one has digest ${known}` : 'none is published';
  throw new VerificationFailure('factor-set', code, `the energy figures were computed with a ${kind} that is not the published one: ${s.id} ${s.version} has digest ${s.digest}, ${said}`);
}

function stated(kind, code, s, value) {
  if (!equal(s, value ?? null)) {
    throw new VerificationFailure('factor-set', code, `the bundle's ${kind} is ${JSON.stringify(s)}, the entry states ${show(value)}`);
  }
}

/** Under check factor-set: the bundle's coefficient and level sets, the entry's and published
 * (null when the bundle carries none). */
export function checkEnergySets(bundle, entry, reference) {
  if (bundle.energy === undefined || bundle.energy === null) return null;
  if (!isDict(entry.energy) || !isDict(entry.benchmark)) {
    throw new VerificationFailure('factor-set', 'EnergySetMismatch', 'the bundle carries energy sets, the entry no energy');
  }
  let sets;
  try {
    sets = { coefficients: parseEnergySet(bundle.energy.coefficientSet), levels: parseLevelSet(bundle.energy.benchmarkLevels) };
  } catch (exc) {
    if (!(exc instanceof SetFormatError)) throw exc;
    throw new VerificationFailure('factor-set', 'EnergySetMismatch', `not an energy or level set: ${exc.message}`);
  }
  stated('coefficient set', 'EnergySetMismatch', summary(sets.coefficients), get(entry.energy, 'coefficientSet'));
  stated('level set', 'BenchmarkLevelsMismatch', summary(sets.levels), get(entry.benchmark, 'levelSet'));
  published('EnergySetUnpublished', 'coefficient set', summary(sets.coefficients), reference.energySets);
  published('BenchmarkLevelsUnpublished', 'level set', summary(sets.levels), reference.benchmarkLevels);
  return sets;
}

/** The entry's stated denominators, which must be the ones it grades with. */
function denominators(entry) {
  const stated = item(entry.energy, 'denominators');
  const [output, added] = [item(stated, 'productOutputT'), item(stated, 'addedValueWanYuan')];
  const rating = truthy(entry.rating) ? entry.rating : {};
  const product = truthy(get(rating, 'product')) ? rating.product : {};
  if (!isDict(product)) throw new TypeError('rating.product has no fields'); // no verdict, as in Python
  for (const [name, value, graded] of [['addedValueWanYuan', added, get(rating, 'added_value_wan_yuan')], ['productOutputT', output, get(product, 'output_t')]]) {
    if (graded !== null && (value === null || !decimal(value).eq(decimal(graded)))) {
      throw new VerificationFailure('figures', 'EnergyMismatch', `energy.denominators.${name} is ${value}, the rating grades with ${graded}`);
    }
  }
  return { productOutputT: output === null ? null : decimal(output), addedValueWanYuan: added === null ? null : decimal(added) };
}

function recompute(entry, lines, sets) {
  try {
    const basis = item(entry.energy, 'basis');
    return energyAndStanding(lines, sets, basis, Number(entry.period.start.slice(0, 4)), entry.industry, denominators(entry));
  } catch (exc) {
    if (!(exc instanceof AccountingError || exc instanceof PythonInputError)) throw exc;
    throw new VerificationFailure('figures', 'EnergyMismatch', `the energy cannot be recomputed: ${exc.message}`);
  }
}

/** Under check figures, after the emissions: recompute the energy and benchmark blocks from the
 * accounted `lines`; null when the bundle proves no energy. */
export function checkEnergyFigures(bundle, entry, lines, sets) {
  if (sets === null) {
    if (ENERGY_PREFIXES.some((p) => bundle.figure.path.startsWith(p))) {
      throw new VerificationFailure('figures', 'FigureMismatch', `${bundle.figure.path} needs the bundle's energy coefficient and level sets`);
    }
    return null;
  }
  const computed = recompute(entry, lines, sets);
  if (!equal(computed.energy, entry.energy)) {
    throw new VerificationFailure('figures', 'EnergyMismatch', `energy differs at ${difference(computed.energy, entry.energy, 'energy')}`);
  }
  if (!equal(computed.benchmark, entry.benchmark)) {
    throw new VerificationFailure('figures', 'BenchmarkMismatch', `benchmark differs at ${difference(computed.benchmark, entry.benchmark, 'benchmark')}`);
  }
  return `energy ${entry.energy.figures.reported.total} tce (${entry.energy.basis} value) and standing ${entry.benchmark.standing} recomputed`;
}

/** The reported value of an energy or benchmark figure path, or undefined when the entry
 * reports none (verifier/protocol/entry.py energy_figure_value). */
export function energyFigureValue(entry, path) {
  const at = (value, key) => (isDict(value) && Object.hasOwn(value, key) ? value[key] : undefined);
  let value;
  if (path === 'benchmark.standing') value = at(entry.benchmark, 'standing');
  else if (path === 'benchmark.intensity') value = at(at(entry.benchmark, 'intensity'), 'reported');
  else {
    const rest = path.startsWith('energy.') ? path.slice(7) : path;
    const dot = rest.indexOf('.');
    const reported = at(at(at(entry.energy, 'figures'), 'reported'), dot < 0 ? rest : rest.slice(0, dot));
    value = dot < 0 ? reported : at(reported, rest.slice(dot + 1));
  }
  return typeof value === 'string' ? value : undefined;
}

// Checks 8–10 of a figure proof (verifier/checks/figure.py): the factor set is the entry's and
// the published one, the figures follow from the records digit for digit, and so does the grade;
// with the energy sets, the energy and benchmark figures too (checks/energy.mjs).
import { canonicalBytes } from '../protocol/canonical.mjs';
import { AccountingError, accountFigures, Unsupported } from '../accounting/engine.mjs';
import { parseFactorSet } from '../accounting/factors.mjs';
import { grade, GradingError, parseRuleset, populationAverage, summary } from '../accounting/grading.mjs';
import { selectGridFactor } from '../accounting/grid.mjs';
import { D } from '../accounting/numbers.mjs';
import { checkEnergyFigures, checkEnergySets, ENERGY_PREFIXES, energyFigureValue } from './energy.mjs';
import { VerificationFailure } from './kernel.mjs';

export { Unsupported };

const same = (a, b) => {
  try {
    return new TextDecoder().decode(canonicalBytes(a)) === new TextDecoder().decode(canonicalBytes(b));
  } catch {
    return false;
  }
};

function published(check, code, kind, s, known) {
  if (known === s.digest) return;
  const what = known ? `the published one has digest ${known}` : 'none is published';
  throw new VerificationFailure(check, code, `the figure was computed with a ${kind} that is not the published one: ${s.id} ${s.version} has digest ${s.digest}, ${what}`);
}

const publishedDigest = (rows, id, version) => rows.find((r) => r.id === id && r.version === version)?.digest ?? null;

export function checkFactorSet(bundle, entry, reference) {
  let factorSet;
  try {
    factorSet = parseFactorSet(bundle.factorSet);
  } catch (exc) {
    throw new VerificationFailure('factor-set', 'FactorSetMismatch', `not a factor set document: ${exc.message}`);
  }
  const stated = entry.accounting.factorSet;
  for (const name of ['digest', 'id', 'version']) {
    if (factorSet[name] !== stated[name]) {
      throw new VerificationFailure('factor-set', 'FactorSetMismatch', `factor set ${name} is ${factorSet[name]}, the entry states ${stated[name]}`);
    }
  }
  const s = { id: factorSet.id, version: factorSet.version, digest: factorSet.digest };
  published('factor-set', 'FactorSetUnpublished', 'factor set', s, publishedDigest(reference.factorSets, s.id, s.version));
  const energySets = checkEnergySets(bundle, entry, reference);
  if (energySets === null) return { ...factorSet, energySets, note: '' };
  const note = `; energy sets ${energySets.coefficients.id}, ${energySets.levels.id} published`;
  return { ...factorSet, energySets, note };
}

function figureValue(entry, path) {
  if (ENERGY_PREFIXES.some((p) => path.startsWith(p))) return energyFigureValue(entry, path);
  if (['rating.grade', 'rating.L', 'rating.K'].includes(path)) {
    const value = entry.rating?.[path.slice(7)];
    if (value === undefined) return undefined;
    return path === 'rating.grade' ? String(value) : value?.reported;
  }
  const dot = path.indexOf('.');
  const [head, rest] = dot < 0 ? [path, ''] : [path.slice(0, dot), path.slice(dot + 1)];
  let value = entry.accounting.figures?.reported?.[head];
  if (rest) value = value && typeof value === 'object' ? value[rest] : undefined;
  return typeof value === 'string' ? value : undefined;
}

const gridMismatch = (reason) => new VerificationFailure('figures', 'GridFactorMismatch', reason);

// The grid factor an entry says it chose is the one the published rule gives for its region
// and period year, or an override that says so (verifier/checks/grid_choice.py).
function checkGridChoice(entry, factorSet) {
  const stated = entry.accounting.gridFactor;
  if (stated === null || stated === undefined) return;
  const factor = stated.factor;
  for (const code of ['electricity.purchased', 'electricity.exported']) {
    const chosen = entry.accounting.factorChoices[code];
    if (chosen !== factor) throw gridMismatch(`factorChoices[${code}] is ${chosen}, not ${factor}`);
  }
  const [ruleFactor, ruleLevel] = selectGridFactor(factorSet, entry.region ?? null, Number(entry.period.start.slice(0, 4)));
  if (stated.level === 'override') {
    const override = stated.override ?? {};
    if (!String(override.reason ?? '').trim()) throw gridMismatch('an overridden grid factor without a reason');
    if (override.ruleChoice !== ruleFactor) throw gridMismatch(`the override says the rule chose ${override.ruleChoice}; the rule chooses ${ruleFactor}`);
    if (!factorSet.factors.has(factor)) throw gridMismatch(`${factor} is not in the factor set`);
    return;
  }
  if (factor !== ruleFactor || stated.level !== ruleLevel) {
    throw gridMismatch(`the entry chose ${factor} (${stated.level}); the rule gives ${ruleFactor} (${ruleLevel}) for region ${entry.region}`);
  }
}

export function checkFigures(bundle, entry, checked, factorSet, metered = []) {
  checkGridChoice(entry, factorSet);
  const records = checked.map((c, i) => ({ ...c.record, attributes: bundle.records[i].attributes ?? null }));
  records.push(...metered); // the register form's runs (checks/registers.mjs)
  let computed;
  const lines = [];
  try {
    computed = accountFigures(records, factorSet, entry.accounting.gwp, entry.accounting.factorChoices, lines);
  } catch (exc) {
    if (exc instanceof AccountingError) throw new VerificationFailure('figures', 'FigureMismatch', `the records cannot be accounted: ${exc.message}`);
    throw exc;
  }
  if (!same(computed, entry.accounting.figures)) {
    throw new VerificationFailure('figures', 'FigureMismatch', `figures differ: recomputed total ${computed.exact.total}, stated ${entry.accounting.figures?.exact?.total}`);
  }
  const energy = checkEnergyFigures(bundle, entry, lines, factorSet.energySets ?? null);
  const path = bundle.figure.path;
  const value = figureValue(bundle.entry, path);
  if (value === undefined) throw new VerificationFailure('figures', 'FigureMismatch', `the entry reports no figure '${path}'`);
  if (value !== bundle.figure.value) {
    throw new VerificationFailure('figures', 'FigureMismatch', `${path} is ${value} in the entry, the bundle claims ${bundle.figure.value}`);
  }
  return [`${path} = ${value}, figures recomputed exactly from ${checked.length} records`, energy].filter(Boolean).join('; ');
}

function checkRuleset(bundle, rating, reference) {
  if (!bundle.ruleset) throw new VerificationFailure('rating', 'RulesetMismatch', 'the entry is rated but the bundle carries no ruleset');
  let ruleset;
  try {
    ruleset = parseRuleset(bundle.ruleset);
  } catch (exc) {
    throw new VerificationFailure('rating', 'RulesetMismatch', `not a ruleset document: ${exc.message}`);
  }
  if (!same(summary(ruleset), rating.ruleset)) {
    throw new VerificationFailure('rating', 'RulesetMismatch', `the ruleset is ${JSON.stringify(summary(ruleset))}, the entry states ${JSON.stringify(rating.ruleset)}`);
  }
  published('rating', 'RulesetUnpublished', 'ruleset', summary(ruleset), publishedDigest(reference.rulesets, ruleset.id, ruleset.version));
  return ruleset;
}

function regrade(entry, rating, ruleset) {
  const year = Number(entry.period.start.slice(0, 4));
  const e = new D(entry.accounting.figures.exact.total);
  const v = new D(rating.added_value_wan_yuan);
  const output = rating.product ? new D(rating.product.output_t) : null;
  const stated = rating.industry_average;
  const average = stated?.origin === 'population' ? populationAverage(entry.industry, year, stated, e, v) : null;
  return grade(e, v, entry.industry, year, ruleset, average, output);
}

export function checkRating(bundle, entry, reference) {
  const rating = entry.rating;
  if (rating === null || rating === undefined) return null;
  const ruleset = checkRuleset(bundle, rating, reference);
  let recomputed;
  try {
    recomputed = regrade(entry, rating, ruleset);
  } catch (exc) {
    if (exc instanceof Unsupported) throw exc;
    const reason = exc instanceof GradingError ? exc.message : `${exc.constructor.name}: ${exc.message}`;
    throw new VerificationFailure('rating', 'GradeMismatch', `the rating cannot be recomputed: ${reason}`);
  }
  if (!same(recomputed, rating)) {
    throw new VerificationFailure('rating', 'GradeMismatch', `rating differs: recomputed grade ${recomputed.grade}, K ${recomputed.K.exact}; stated grade ${rating.grade}, K ${rating.K?.exact}`);
  }
  return `grade ${rating.grade} recomputed with ${ruleset.id}, ${rating.industry_average.origin} average`;
}

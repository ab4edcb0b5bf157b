// The accounting engine (accounting/engine.py, from_records.py, figures.py) for the methods of
// GB/T 32150's general rules (accounting/methods/general.py): fuel combustion, biomass memo,
// purchased and exported electricity and heat. An activity of another method, or a unit the
// shipped table does not know, is not guessed: the verifier says it cannot decide.
import { D, decimalStr, LINE_PLACES, reportedStr, scaledToDecimal, ZERO } from './numbers.mjs';
import UNITS from './units.json' with { type: 'json' };

/** The records cannot be accounted: the figure is wrong (FigureMismatch). */
export class AccountingError extends Error {}
/** This verifier does not account the input; the Python verifier must decide. */
export class Unsupported extends Error {}

export const CATEGORIES = ['combustion', 'process', 'purchased_electricity', 'purchased_heat',
  'exported', 'deducted', 'biomass_memo'];
const MEMO = new Set(['biomass_memo']);
const GAS_ORDER = { CO2: 0, CH4: 1, N2O: 2 };

const GAS_VOLUME = 'wan_Nm3';
const FUELS = {
  anthracite: 't', bituminous_coal: 't', lignite: 't', raw_coal: 't', washed_coal: 't',
  other_washed_coal: 't', briquettes: 't', coke: 't', crude_oil: 't', fuel_oil: 't', gasoline: 't',
  diesel: 't', kerosene: 't', lpg: 't', lng: 't', refinery_gas: 't', natural_gas: GAS_VOLUME,
  coke_oven_gas: GAS_VOLUME, blast_furnace_gas: GAS_VOLUME, bof_gas: GAS_VOLUME, other_gas: GAS_VOLUME,
};
const FUEL_PARAMS = { ncv: {}, cc: {}, of: { fraction: true } };

// CO2 per unit of fuel: NCV × CC × OF × 44, over 12 (defaults unless measured).
function combustion(ctx, fuel) {
  const dflt = (name) => (fuel ? `fuel.${fuel}.${name}` : null);
  let ncv = new D(1);
  if (ctx.unit === 'GJ') ctx.reject('ncv', 'does not apply: the quantity is already in energy units');
  else ncv = ctx.value('ncv', dflt('ncv'));
  const numerator = ncv.mul(ctx.value('cc', dflt('cc'))).mul(ctx.value('of', dflt('of'))).mul(ctx.factor('molar_mass.co2'));
  return [{ gas: 'CO2', numerator, denominator: ctx.factor('molar_mass.c') }];
}

const grid = (ctx) => [{ gas: 'CO2', numerator: ctx.factor(ctx.chosenId()), denominator: new D(1) }];
const heat = (ctx) => [{ gas: 'CO2', numerator: ctx.value('ef', ctx.chosenId()), denominator: new D(1) }];

const SPECS = new Map([
  ...Object.entries(FUELS).map(([fuel, per]) => [`fuel.${fuel}`,
    { category: 'combustion', units: [per, 'GJ'], params: FUEL_PARAMS, build: (ctx) => combustion(ctx, fuel) }]),
  ['fuel.biomass', { category: 'biomass_memo', units: ['t', 'GJ'], params: FUEL_PARAMS, build: (ctx) => combustion(ctx, null) }],
  ['electricity.purchased', { category: 'purchased_electricity', units: ['MWh'], build: grid, slot: 'grid_ef' }],
  ['electricity.exported', { category: 'exported', units: ['MWh'], build: grid, slot: 'grid_ef', sign: -1 }],
  ['heat.purchased', { category: 'purchased_heat', units: ['GJ'], build: heat, slot: 'heat_ef', params: { ef: {} } }],
  ['heat.exported', { category: 'exported', units: ['GJ'], build: heat, slot: 'heat_ef', params: { ef: {} }, sign: -1 }],
]);

function context(spec, code, factorSet, unit, params, choice) {
  const used = []; // in the order the method read them, as the engine's line basis lists them
  const factor = (id) => {
    const found = factorSet.factors.get(id);
    if (!found) throw new AccountingError(`factor '${id}' needed by ${code} is not in factor set ${factorSet.id}`);
    if (!used.includes(found)) used.push(found);
    return found.value;
  };
  return {
    unit,
    used,
    factor,
    value(name, factorId) {
      if (name in params) return params[name];
      if (!factorId || !factorSet.factors.has(factorId)) throw new AccountingError(`${code} needs measured parameter '${name}'`);
      return factor(factorId);
    },
    chosenId() {
      const id = choice ?? factorSet.defaults[spec.slot];
      const found = factorSet.factors.get(id);
      if (!found) throw new AccountingError(`factor '${id}' is not in factor set ${factorSet.id}`);
      if (found.kind !== spec.slot) throw new AccountingError(`factor '${id}' is a ${found.kind}, ${code} needs a ${spec.slot}`);
      return id;
    },
    reject(name, why) {
      if (name in params) throw new AccountingError(`parameter '${name}' ${why}`);
    },
  };
}

function convert(factorSet, unit, canonicals) {
  const row = UNITS[factorSet.digest]?.[unit.trim()];
  if (row === 'unknown') throw new AccountingError(`unknown unit '${unit}'`);
  if (!row) throw new Unsupported(`unit '${unit}' is not in this verifier's unit table`);
  for (const canonical of canonicals) {
    if (row[canonical]) return [canonical, row[canonical].map((x) => new D(x))];
  }
  throw new AccountingError(`unit '${unit}' does not fit`);
}

function checkedParams(code, params, spec) {
  const known = spec.params ?? {};
  const out = {};
  for (const [name, value] of Object.entries(params ?? {})) {
    if (!(name in known)) throw new AccountingError(`${code} has no parameter '${name}'`);
    if (value.isNeg() || !value.isFinite()) throw new AccountingError(`params.${name} must be finite and non-negative`);
    if (known[name].fraction && value.gt(1)) throw new AccountingError(`params.${name} is a fraction (0–1)`);
    out[name] = value;
  }
  return out;
}

function plan(entry, choice, factorSet, gwpSet) {
  const spec = SPECS.get(entry.code);
  if (!spec) throw new Unsupported(`activity ${entry.code} is accounted by a method this verifier does not carry`);
  if (choice != null && !spec.slot) throw new AccountingError(`${entry.code} takes no selectable factor`);
  const [canonical, [convNum, convDen]] = convert(factorSet, entry.unit, spec.units);
  const params = checkedParams(entry.code, entry.params, spec);
  const ctx = context(spec, entry.code, factorSet, canonical, params, choice);
  const terms = spec.build(ctx);
  const coefficients = terms.map((t) => {
    const den = convDen.mul(t.denominator);
    let gwp = null;
    if (t.gas !== 'CO2') {
      gwp = gwpSet.get(t.gas);
      if (!gwp) throw new AccountingError(`the GWP set has no value for ${t.gas}`);
    }
    return { gas: t.gas, num: convNum.mul(t.numerator).mul(spec.sign ?? 1), den: den.eq(1) ? null : den, gwp };
  });
  const basis = { code: entry.code, category: spec.category, unit: canonical, conversion: [convNum, convDen], params, factors: ctx.used };
  return { category: spec.category, coefficients, acc: coefficients.map(() => ZERO), basis };
}

// A meter's register fields change with every reading: records are grouped without them
// (accounting/from_records.py REGISTER_ATTRIBUTES).
const REGISTER_ATTRIBUTES = new Set(['register', 'registerEpoch', 'registerOpening']);
const withoutRegisters = (attributes) =>
  Object.fromEntries(Object.entries(attributes ?? {}).filter(([k]) => !REGISTER_ATTRIBUTES.has(k)));

// One entry per (activity, source, unit, attributes), summed exactly, in sorted key order.
function entriesFromRecords(records) {
  const sums = new Map();
  for (const r of records) {
    const key = JSON.stringify([r.activity, r.source, r.unit, sortedJson(withoutRegisters(r.attributes))]);
    const found = sums.get(key);
    const value = scaledToDecimal(r.quantity, r.decimals);
    if (found) found.quantity = found.quantity.add(value);
    else sums.set(key, { first: r, quantity: value });
  }
  return [...sums.keys()].sort(compareKeys).map((key) => {
    const { first, quantity } = sums.get(key);
    return { code: first.activity, quantity, unit: first.unit, params: measured(first.attributes), source: first.source };
  });
}

const sortedJson = (value) => JSON.stringify(value, (_k, v) =>
  (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));

function compareKeys(a, b) {
  const [x, y] = [JSON.parse(a), JSON.parse(b)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

// Measured parameters travel as decimal strings under `params` in the signed attributes.
function measured(attributes) {
  const params = attributes?.params;
  if (!params || !Object.keys(params).length) return null;
  const out = {};
  for (const name of Object.keys(params).sort()) {
    try {
      out[name] = new D(String(params[name]));
    } catch {
      throw new AccountingError(`params.${name} is not a decimal`);
    }
  }
  return out;
}

/** The figures of `records` (what the entry's accounting.figures must equal). `lines`, if given,
 * receives every accounted entry in the engine's order with what it was accounted by ({quantity,
 * source, basis}: the energy figures convert the same lines, accounting/energy.py). */
export function accountFigures(records, factorSet, gwpId, choices, lines = null) {
  const gwpSet = factorSet.gwpSets.get(gwpId);
  if (!gwpSet) throw new AccountingError(`unknown GWP set '${gwpId}'`);
  const plans = new Map();
  const bySource = new Map();
  for (const entry of entriesFromRecords(records)) {
    const choice = choices?.[entry.code] ?? null;
    const key = JSON.stringify([entry.code, entry.unit, choice, entry.params && Object.entries(entry.params).map(([k, v]) => [k, v.toString()])]);
    if (!plans.has(key)) plans.set(key, plan(entry, choice, factorSet, gwpSet));
    const p = plans.get(key);
    lines?.push({ quantity: entry.quantity, source: entry.source, basis: p.basis });
    let co2e = ZERO;
    p.coefficients.forEach((c, i) => {
      let mass = entry.quantity.mul(c.num);
      if (c.den) mass = mass.div(c.den);
      mass = mass.toDecimalPlaces(LINE_PLACES, D.ROUND_HALF_EVEN);
      p.acc[i] = p.acc[i].add(mass);
      co2e = co2e.add(c.gwp ? mass.mul(c.gwp) : mass);
    });
    if (!MEMO.has(p.category)) bySource.set(entry.source, (bySource.get(entry.source) ?? ZERO).add(co2e));
  }
  return figures(aggregate([...plans.values()]), bySource);
}

function aggregate(plans) {
  const byCategory = new Map(CATEGORIES.map((c) => [c, ZERO]));
  const byGas = new Map();
  for (const p of plans) {
    p.coefficients.forEach((c, i) => {
      const co2e = p.acc[i].mul(c.gwp ?? 1);
      byCategory.set(p.category, byCategory.get(p.category).add(co2e));
      if (!MEMO.has(p.category)) byGas.set(c.gas, (byGas.get(c.gas) ?? ZERO).add(co2e));
    });
  }
  const total = [...byCategory].filter(([k]) => !MEMO.has(k)).reduce((a, [, v]) => a.add(v), ZERO);
  const gases = [...byGas.keys()].sort((a, b) => (GAS_ORDER[a] ?? 9) - (GAS_ORDER[b] ?? 9) || (a < b ? -1 : 1));
  return { total, byCategory, byGas: new Map(gases.map((g) => [g, byGas.get(g)])) };
}

function figures({ total, byCategory, byGas }, bySource) {
  const block = (render) => {
    const strings = (values) => Object.fromEntries([...values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, render(v)]));
    return { total: render(total), byCategory: strings(byCategory), byGas: strings(byGas), bySource: strings(bySource) };
  };
  return { exact: block(decimalStr), reported: block((v) => reportedStr(v, 3)) };
}

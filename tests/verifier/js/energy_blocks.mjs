// The browser's energy and benchmark blocks for the agreement tests: reads {factorSet, cases}
// on standard input, each case {records, choices, energySet, levelSet, basis, year,
// industry, denominators}, and prints per case {blocks} or {error}, as JSON, in order.
// Documents alone ({document, kind}) are parsed and print their summary.
import { readFileSync } from 'node:fs';
import { accountFigures } from '../../../web-verifier/src/accounting/engine.mjs';
import { energyAndStanding, parseEnergySet, parseLevelSet, summary } from '../../../web-verifier/src/accounting/energy.mjs';
import { parseFactorSet } from '../../../web-verifier/src/accounting/factors.mjs';
import { D } from '../../../web-verifier/src/accounting/numbers.mjs';

const { factorSet, cases } = JSON.parse(readFileSync(0, 'utf8'));
const factors = parseFactorSet(factorSet);
const decimal = (text) => (text === null ? null : new D(text));

function blocks(c) {
  const lines = [];
  accountFigures(c.records, factors, 'AR5', c.choices, lines); // a failure here fails the test
  const sets = { coefficients: parseEnergySet(c.energySet), levels: parseLevelSet(c.levelSet) };
  const denominators = { productOutputT: decimal(c.denominators[0]), addedValueWanYuan: decimal(c.denominators[1]) };
  return energyAndStanding(lines, sets, c.basis, c.year, c.industry, denominators);
}

const parse = { energy: parseEnergySet, levels: parseLevelSet };
const out = cases.map((c) => {
  try {
    return c.kind ? { summary: summary(parse[c.kind](c.document)) } : { blocks: blocks(c) };
  } catch (exc) {
    return { error: `${exc.constructor.name}: ${exc.message}` };
  }
});
process.stdout.write(JSON.stringify(out));

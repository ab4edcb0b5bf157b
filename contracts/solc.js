#!/usr/bin/env node
// A `solc` binary look-alike over the npm `solc` package, for py-solc-x: it answers
// `--version` and `--standard-json` (input on stdin), resolves imports from node_modules and
// keeps stdout pure JSON (solcjs's own CLI prints notices there).
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const root = path.resolve(__dirname, '..');

function findImport(importPath) {
  for (const base of [root, path.join(root, 'node_modules')]) {
    const candidate = path.join(base, importPath);
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
  }
  return { error: `File not found: ${importPath}` };
}

const args = process.argv.slice(2);
if (args.includes('--version')) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
} else if (args.includes('--standard-json')) {
  const input = fs.readFileSync(0, 'utf8');
  process.stdout.write(solc.compile(input, { import: findImport }));
} else {
  process.stderr.write('usage: solc.js --version | --standard-json < input.json\n');
  process.exit(2);
}

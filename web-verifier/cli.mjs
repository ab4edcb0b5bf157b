#!/usr/bin/env node
// Many bundles in one process, for the agreement tests and the benchmark. Reads
// {"rpc": URL or null, "cases": [{"kind": "record" | "figure" | "asset", "bundle": {...}, "online": bool,
//  "published": bool (a public page's figure bundle: the publication statement is required)}]}
// on standard input and prints one result per case, as JSON, in order.
import { readFileSync } from 'node:fs';
import { verify } from './src/verify.mjs';

const input = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const { kind, bundle, online = true, published = false } of input.cases) {
  const started = performance.now();
  try {
    const result = await verify(kind, bundle, { rpcUrl: online ? input.rpc ?? null : null, published });
    results.push({ ...result, ms: performance.now() - started });
  } catch (exc) {
    results.push({ error: `${exc.constructor.name}: ${exc.message}`, ms: performance.now() - started });
  }
}
process.stdout.write(JSON.stringify(results));

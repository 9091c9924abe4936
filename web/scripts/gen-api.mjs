// Regenerates src/api/schema.d.ts from src/api/openapi.json (the server's document,
// kept current by the Rust test `ui::the_ui_api_snapshot_is_the_served_document`).
//   node scripts/gen-api.mjs          write schema.d.ts
//   node scripts/gen-api.mjs --check  fail when schema.d.ts is stale
import { readFileSync, writeFileSync } from 'node:fs';
import openapiTS, { astToString } from 'openapi-typescript';

const here = new URL('../src/api/', import.meta.url);
const doc = JSON.parse(readFileSync(new URL('openapi.json', here), 'utf8'));
// Routes served for GET and POST by one handler share an operationId, which the
// generator refuses; the types are keyed by path and method, so suffix the repeats.
const seen = new Set();
for (const [, item] of Object.entries(doc.paths ?? {})) {
  for (const [method, op] of Object.entries(item)) {
    if (!op || typeof op !== 'object' || !op.operationId) continue;
    if (seen.has(op.operationId)) op.operationId = `${op.operationId}_${method}`;
    seen.add(op.operationId);
  }
}
const header = '// Generated from openapi.json by scripts/gen-api.mjs: do not edit.\n';
const text = header + astToString(await openapiTS(doc, { alphabetize: true }));
const target = new URL('schema.d.ts', here);
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    console.error('src/api/schema.d.ts is stale: run npm run gen:api and commit it');
    process.exit(1);
  }
  console.log('src/api/schema.d.ts matches openapi.json');
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target.pathname}`);
}

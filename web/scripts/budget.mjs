// Fails the build when the JavaScript grows past its budget (gzip -9 sizes): the
// entry chunk plus what index.html preloads is what a first visit must download.
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const INITIAL_BUDGET = 250 * 1024;
const TOTAL_BUDGET = 400 * 1024;
const dist = new URL('../dist/', import.meta.url).pathname;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const initialNames = new Set(
  [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]),
);
const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
let initial = 0;
let total = 0;
for (const name of readdirSync(join(dist, 'assets'))) {
  if (!name.endsWith('.js') && !name.endsWith('.css')) continue;
  const size = gz(`assets/${name}`);
  total += size;
  if (initialNames.has(`assets/${name}`)) initial += size;
}
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`bundle budget: initial JS ${kb(initial)} gzip (limit ${kb(INITIAL_BUDGET)}), whole app ${kb(total)} gzip (limit ${kb(TOTAL_BUDGET)})`);
if (initialNames.size === 0) {
  console.error('bundle budget: index.html references no script');
  process.exit(1);
}
if (initial > INITIAL_BUDGET || total > TOTAL_BUDGET) {
  console.error('bundle budget: over budget');
  process.exit(1);
}
